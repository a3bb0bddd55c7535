/**
 * X509Source against a Workload API server that misbehaves on purpose. Test names carry the case
 * IDs of the SPIFFE SDK conformance catalogue (arndt-s/spiffe-conformance-test-suite
 * docs/TEST_CATALOGUE.md) they implement. Waiting is on events (an update, a recorded call), never
 * on time; "nothing happened" is shown with a barrier update (catalogue methodology §2.2).
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { WorkloadError } from '../../../core/errors.ts'
import { verifyX509Svid } from '../../../core/svid/x509-svid.ts'
import { matchId } from '../../../core/svid/match.ts'
import { parseTrustDomain } from '../../../core/svid/spiffe-id.ts'
import { frameMessage } from '../../../core/workload/grpc-frame.ts'
import { GrpcStatus } from '../../../core/workload/grpc-status.ts'
import { WorkloadApiMethod } from '../../../core/workload/service.ts'
import { X509Source, createX509Source, type SourceOptions } from '../../../runtimes/workload/sources.ts'
import { TestCa } from '../../support/spiffe-ca.ts'
import { TestWorkloadApiServer } from '../../support/workload-api-server.ts'
import { concatDer, svidMessage, x509Response } from '../../support/workload-svids.ts'
import { SETTLE } from '../../support/settle.ts'

const TD = 'example.org'
const A = `spiffe://${TD}/workload-a`
const B = `spiffe://${TD}/workload-b`
const FETCH = WorkloadApiMethod.fetchX509Svid

let ca: TestCa
let ca2: TestCa
let fed: TestCa
beforeAll(() => {
  ca = TestCa.root(TD, 'p256', 0)
  ca2 = TestCa.root(TD, 'p256', 3)
  fed = TestCa.root('fed.example.org', 'p256', 4)
})

const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

async function server(kind: 'unix' | 'tcp' = 'unix'): Promise<TestWorkloadApiServer> {
  const s = await new TestWorkloadApiServer().listen(kind)
  cleanup.push(() => s.close())
  return s
}

function source(s: TestWorkloadApiServer, options: SourceOptions = {}): X509Source {
  const src = new X509Source({ address: s.address, backoff: { initialMs: 5, maxMs: 40 }, ...options })
  cleanup.push(() => src.close())
  return src
}

/** Pushes once the source's stream is open. */
async function pushWhenOpen(s: TestWorkloadApiServer, message: Uint8Array, streams = 1): Promise<void> {
  await vi.waitFor(() => expect(s.openCalls(FETCH).length).toBeGreaterThanOrEqual(streams), SETTLE)
  s.push(FETCH, message)
}

/** Resolves at the next update of the source. */
function nextUpdate(src: X509Source): Promise<void> {
  return new Promise((resolve) => {
    const off = src.onUpdate(() => {
      off()
      resolve()
    })
  })
}

describe('X509Source: SVIDs from FetchX509SVID', () => {
  it('XS-1, EP-1, EP-2: finds the endpoint in SPIFFE_ENDPOINT_SOCKET, sends the security header, serves the SVID', async () => {
    const s = await server()
    vi.stubEnv('SPIFFE_ENDPOINT_SOCKET', s.address)
    cleanup.push(() => vi.unstubAllEnvs())
    const pending = createX509Source({ backoff: { initialMs: 5, maxMs: 40 } })
    await pushWhenOpen(s, x509Response([svidMessage(ca, A)]))
    const src = await pending
    cleanup.push(() => src.close())
    const svid = src.getX509Svid()
    expect(svid.id.toString()).toBe(A)
    expect(svid.certificates).toHaveLength(1)
    expect(svid.verifiedChain.at(-1)!.raw).toEqual(ca.cert.der)
    expect(s.calls.every((c) => c.securityHeader === 'true')).toBe(true)
    expect(s.calls[0]!.contentType).toBe('application/grpc')
    expect(s.calls[0]!.request).toEqual(new Uint8Array())
  })

  it('XS-2: keeps the full chain, leaf first, through an intermediate; the bundle holds the root only', async () => {
    const s = await server()
    const src = source(s)
    const inter = ca.childCa(TD, 'p256', 1)
    await pushWhenOpen(s, x509Response([svidMessage(inter, A, { bundle: [ca.cert.der] })]))
    await src.ready
    const svid = src.getX509Svid()
    expect(svid.certificates.map((c) => c.raw)).toEqual([expect.anything(), inter.cert.der])
    expect(svid.verifiedChain).toHaveLength(3)
  })

  it('XS-3: a rotated SVID replaces the previous one', async () => {
    const s = await server()
    const src = source(s)
    await pushWhenOpen(s, x509Response([svidMessage(ca, A)]))
    await src.ready
    const first = src.getX509Svid()
    const updated = nextUpdate(src)
    s.push(FETCH, x509Response([svidMessage(ca, A, { keyIndex: 5 })]))
    await updated
    expect(src.getX509Svid()).not.toBe(first)
    expect(src.getX509Svid().certificates[0]!.raw).not.toEqual(first.certificates[0]!.raw)
  })

  it('XS-4, XS-5: trusts every CA of a concatenated bundle, and stops trusting a CA removed from it', async () => {
    const s = await server()
    const src = source(s)
    await pushWhenOpen(s, x509Response([svidMessage(ca, A, { bundle: [ca.cert.der, ca2.cert.der] })]))
    await src.ready
    const peer1 = ca.issue(`spiffe://${TD}/peer1`).chain
    const peer2 = ca2.issue(`spiffe://${TD}/peer2`).chain
    await expect(verifyX509Svid(peer1, src)).resolves.toMatchObject({ id: expect.anything() })
    await expect(verifyX509Svid(peer2, src)).resolves.toMatchObject({ id: expect.anything() })
    const updated = nextUpdate(src)
    s.push(FETCH, x509Response([svidMessage(ca, A)]))
    await updated
    await expect(verifyX509Svid(peer1, src)).resolves.toBeDefined()
    await expect(verifyX509Svid(peer2, src)).rejects.toMatchObject({ code: 'ERR_SVID_UNTRUSTED' })
  })

  it('WA-3: the first SVID of the response is the default identity, in either order', async () => {
    const s = await server()
    const src = source(s)
    await pushWhenOpen(s, x509Response([svidMessage(ca, A, { hint: 'internal' }), svidMessage(ca, B, { hint: 'external', keyIndex: 5 })]))
    await src.ready
    expect(src.getX509Svid().id.toString()).toBe(A)
    expect(src.getX509Svids().map((x) => x.id.toString())).toEqual([A, B])
    expect(src.getX509SvidByHint('external')!.id.toString()).toBe(B)
    const updated = nextUpdate(src)
    s.push(FETCH, x509Response([svidMessage(ca, B, { keyIndex: 5 }), svidMessage(ca, A)]))
    await updated
    expect(src.getX509Svid().id.toString()).toBe(B)
  })

  it('XF-1, XF-2, XF-3, XV-15: federated bundles are kept per trust domain, never merged, and dropped when omitted', async () => {
    const s = await server()
    const src = source(s)
    await pushWhenOpen(s, x509Response([svidMessage(ca, A)], { 'spiffe://fed.example.org': [fed.cert.der] }))
    await src.ready
    const fedPeer = fed.issue('spiffe://fed.example.org/svc').chain
    await expect(verifyX509Svid(fedPeer, src, { matcher: matchId('spiffe://fed.example.org/svc') })).resolves.toBeDefined()
    // a peer claiming the federated trust domain, signed by the local CA (XF-2), and one of a trust domain without a bundle (XV-15)
    await expect(verifyX509Svid(ca.issue('spiffe://fed.example.org/svc').chain, src)).rejects.toMatchObject({ code: 'ERR_SVID_UNTRUSTED' })
    await expect(verifyX509Svid(ca.issue('spiffe://other.example.org/x').chain, src)).rejects.toMatchObject({
      code: 'ERR_BUNDLE_NOT_FOUND',
    })
    const updated = nextUpdate(src)
    s.push(FETCH, x509Response([svidMessage(ca, A)]))
    await updated
    await expect(verifyX509Svid(fedPeer, src)).rejects.toMatchObject({ code: 'ERR_BUNDLE_NOT_FOUND' })
    expect(src.bundles.trustDomains().map(String)).toEqual([TD])
  })
})

describe('X509Source: malformed updates are discarded (WA-2, HX)', () => {
  const variants: [string, (m: ReturnType<typeof svidMessage>) => Uint8Array][] = [
    ['WA-2/empty-svids', () => x509Response([])],
    ['WA-2/empty-spiffe_id', (m) => x509Response([{ ...m, spiffeId: '' }])],
    ['WA-2/empty-x509_svid', (m) => x509Response([{ ...m, x509Svid: new Uint8Array() }])],
    ['WA-2/empty-x509_svid_key', (m) => x509Response([{ ...m, x509SvidKey: new Uint8Array() }])],
    ['WA-2/empty-bundle', (m) => x509Response([{ ...m, bundle: new Uint8Array() }])],
    ['not protobuf', () => new Uint8Array([0x0a, 0x05, 0x01])],
    [
      'HX-1 invalid signature',
      (m) => {
        const bad = m.x509Svid.slice()
        bad[bad.length - 5]! ^= 0x01
        return x509Response([{ ...m, x509Svid: bad }])
      },
    ],
    ['HX-2 does not chain to the bundle', (m) => x509Response([{ ...m, bundle: ca2.cert.der }])],
    [
      'HX-3 expired',
      () => x509Response([svidMessage(ca, B, { notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 3600_000) })]),
    ],
    ['HX-4 leaf cA=true', () => x509Response([svidMessage(ca, B, { ca: true })])],
    ['HX-5 leaf keyCertSign', () => x509Response([svidMessage(ca, B, { keyUsage: ['digitalSignature', 'keyCertSign'] })])],
    ['HX-6 two URI SANs', () => x509Response([svidMessage(ca, B, { uris: [B, `spiffe://${TD}/c`] })])],
    ['HX-7 non-spiffe URI SAN', () => x509Response([{ ...svidMessage(ca, B, { uris: ['https://example.org/b'] }), spiffeId: B }])],
    [
      'HX-8 key does not match the certificate',
      (m) => x509Response([{ ...m, x509SvidKey: svidMessage(ca, B, { keyIndex: 5 }).x509SvidKey }]),
    ],
    ['HX-9 spiffe_id differs from the URI SAN', (m) => x509Response([{ ...m, spiffeId: B }])],
    ['a bad federated bundle', (m) => x509Response([m], { 'spiffe://fed.example.org': [new Uint8Array([0x30, 0x03, 0x02, 0x01])] })],
  ]

  for (const [name, make] of variants) {
    it(`${name}: reported, discarded; the previous SVID is served until the barrier`, async () => {
      const s = await server()
      const errors: unknown[] = []
      const src = source(s, { onError: (e) => errors.push(e) })
      const good = svidMessage(ca, A)
      await pushWhenOpen(s, x509Response([good]))
      await src.ready
      const seen: string[] = []
      src.onUpdate(() => seen.push(src.getX509Svid().id.toString()))
      s.push(FETCH, make(good))
      // barrier: a valid update with SVID B; the stream is ordered, so the bad one was handled before
      const barrier = nextUpdate(src)
      s.push(FETCH, x509Response([svidMessage(ca, B, { keyIndex: 5 })]))
      await barrier
      expect(seen).toEqual([B])
      expect(src.getX509Svid().id.toString()).toBe(B)
      expect(errors).toHaveLength(1)
      expect(errors[0]).toBeInstanceOf(WorkloadError)
      expect((errors[0] as WorkloadError).code).toMatch(/^ERR_WORKLOAD_(RESPONSE_INVALID|MALFORMED)$/)
      // the stream stayed up: one call only
      expect(s.callsOf(FETCH)).toHaveLength(1)
    })
  }
})

describe('X509Source: stream ends, retries and backoff', () => {
  it('WA-1: re-establishes the stream after the server closes it, and serves what the new stream sends', async () => {
    const s = await server()
    const src = source(s)
    await pushWhenOpen(s, x509Response([svidMessage(ca, A)]))
    await src.ready
    s.endAll(FETCH, GrpcStatus.UNAVAILABLE, 'agent restarting')
    await vi.waitFor(() => expect(s.callsOf(FETCH)).toHaveLength(2), SETTLE)
    // the old SVID is still served while reconnecting (Unavailable withdraws nothing)
    expect(src.getX509Svid().id.toString()).toBe(A)
    const updated = nextUpdate(src)
    await pushWhenOpen(s, x509Response([svidMessage(ca, B, { keyIndex: 5 })]))
    await updated
    expect(src.getX509Svid().id.toString()).toBe(B)
  })

  it('WA-1: a stream the server ends with OK is opened again too', async () => {
    const s = await server()
    const src = source(s)
    await pushWhenOpen(s, x509Response([svidMessage(ca, A)]))
    await src.ready
    s.endAll(FETCH, GrpcStatus.OK)
    await vi.waitFor(() => expect(s.callsOf(FETCH)).toHaveLength(2), SETTLE)
  })

  it('EP-5: retries after Unavailable (3 times) and becomes ready', async () => {
    const s = await server()
    let n = 0
    s.handle(FETCH, (call) => {
      if (++n <= 3) call.end(GrpcStatus.UNAVAILABLE, 'not yet')
      else call.send(x509Response([svidMessage(ca, A)]))
    })
    const errors: unknown[] = []
    const src = await createX509Source({ address: s.address, backoff: { initialMs: 5, maxMs: 40 }, onError: (e) => errors.push(e) })
    cleanup.push(() => src.close())
    expect(src.getX509Svid().id.toString()).toBe(A)
    expect(s.callsOf(FETCH)).toHaveLength(4)
    expect(
      s
        .callsOf(FETCH)
        .slice(0, 3)
        .map((c) => c.status),
    ).toEqual([14, 14, 14])
    expect(errors.map((e) => (e as WorkloadError).detail.grpcStatusName)).toEqual(['UNAVAILABLE', 'UNAVAILABLE', 'UNAVAILABLE'])
  })

  it('EP-6, WA-4: PermissionDenied withdraws the SVIDs, then the source retries and recovers', async () => {
    const s = await server()
    const src = source(s)
    await pushWhenOpen(s, x509Response([svidMessage(ca, A)]))
    await src.ready
    const withdrawn = nextUpdate(src)
    s.endAll(FETCH, GrpcStatus.PERMISSION_DENIED, 'no identity issued')
    await withdrawn
    expect(() => src.getX509Svid()).toThrow(expect.objectContaining({ code: 'ERR_WORKLOAD_NO_IDENTITY' }))
    expect(src.getX509Svids()).toEqual([])
    await vi.waitFor(() => expect(s.callsOf(FETCH)).toHaveLength(2), SETTLE)
    const back = nextUpdate(src)
    await pushWhenOpen(s, x509Response([svidMessage(ca, A)]))
    await back
    expect(src.getX509Svid().id.toString()).toBe(A)
  })

  it('EP-7: does not retry after InvalidArgument; creation rejects with the status', async () => {
    const s = await server()
    s.handle(FETCH, (call) => call.end(GrpcStatus.INVALID_ARGUMENT, 'security header missing'))
    const errors: [unknown, boolean][] = []
    const pending = createX509Source({
      address: s.address,
      backoff: { initialMs: 5, maxMs: 40 },
      onError: (e, final) => errors.push([e, final]),
    })
    await expect(pending).rejects.toMatchObject({
      code: 'ERR_WORKLOAD_STATUS',
      message: '/SpiffeWorkloadAPI/FetchX509SVID: INVALID_ARGUMENT: security header missing',
      detail: { grpcStatus: 3 },
    })
    expect(errors.map(([, final]) => final)).toEqual([true])
    expect(s.callsOf(FETCH)).toHaveLength(1)
  })

  it('EP-8: retries while the endpoint does not exist yet, and connects once it does', async () => {
    const s = new TestWorkloadApiServer()
    const { mkdtempSync } = await import('node:fs')
    const { join } = await import('node:path')
    const { tmpdir } = await import('node:os')
    const dir = mkdtempSync(join(tmpdir(), 'vouch-wlapi-late-'))
    const path = join(dir, 'agent.sock')
    const errors: unknown[] = []
    const src = new X509Source({ address: `unix://${path}`, backoff: { initialMs: 5, maxMs: 20 }, onError: (e) => errors.push(e) })
    cleanup.push(() => src.close())
    await vi.waitFor(() => expect(errors.length).toBeGreaterThanOrEqual(2), SETTLE)
    expect((errors[0] as WorkloadError).detail.grpcStatusName).toBe('UNAVAILABLE')
    await s.listen('unix', path)
    cleanup.push(() => s.close())
    await pushWhenOpen(s, x509Response([svidMessage(ca, A)]))
    await src.ready
    expect(src.getX509Svid().id.toString()).toBe(A)
  })

  it('a flood of responses is bounded: the oldest waiting ones are dropped (reported), the last one is served', async () => {
    const s = await server()
    const errors: unknown[] = []
    const src = source(s, { onError: (e) => errors.push(e) })
    await pushWhenOpen(s, x509Response([svidMessage(ca, A)]))
    await src.ready
    const [call] = s.openCalls(FETCH)
    const frames = Array.from({ length: 30 }, (_, i) => frameMessage(x509Response([svidMessage(ca, A, { hint: `h${i}` })])))
    const last = new Promise<void>((resolve) => src.onUpdate(() => src.getX509Svid().hint === 'h29' && resolve()))
    call!.writeRaw(concatDer(frames))
    await last
    expect(errors.length).toBeGreaterThanOrEqual(1)
    expect(errors.every((e) => /more than 8 responses wait to be checked/.test((e as Error).message))).toBe(true)
  })

  it('close() cancels the stream, and reads after close fail', async () => {
    const s = await server()
    const src = source(s)
    await pushWhenOpen(s, x509Response([svidMessage(ca, A)]))
    await src.ready
    src.close()
    await vi.waitFor(() => expect(s.openCalls(FETCH)).toHaveLength(0), SETTLE)
    expect(() => src.getX509Svid()).toThrow(expect.objectContaining({ code: 'ERR_WORKLOAD_CLOSED' }))
    expect(src.getX509Bundle(parseTrustDomain(TD))).toBeUndefined()
  })

  it('a source closed before its first update rejects ready, and an aborted create closes it', async () => {
    const s = await server()
    const src = source(s)
    src.close()
    await expect(src.ready).rejects.toMatchObject({ code: 'ERR_WORKLOAD_CLOSED' })
    const ac = new AbortController()
    const pending = createX509Source({ address: s.address, signal: ac.signal })
    await vi.waitFor(() => expect(s.openCalls(FETCH).length).toBeGreaterThanOrEqual(1), SETTLE)
    ac.abort()
    await expect(pending).rejects.toMatchObject({ code: 'ERR_WORKLOAD_CLOSED' })
  })
})
