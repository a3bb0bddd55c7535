/**
 * Two workloads do mTLS with the node:tls helpers, each fed by its own Workload API (test server):
 * each verifies the other's SPIFFE ID with vouch, a wrong ID is refused on both sides, peers that
 * break the X.509-SVID rules are refused (catalogue XV, role server), and a rotated SVID is
 * presented on the next connection.
 */
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import tls from 'node:tls'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { matchAny, matchId, matchMemberOf } from '../../../core/svid/match.ts'
import { GrpcStatus } from '../../../core/workload/grpc-status.ts'
import { WorkloadApiMethod } from '../../../core/workload/service.ts'
import { X509Source } from '../../../runtimes/workload/sources.ts'
import { type VerifiedConnection, connectTls, createTlsServer, tlsClientOptions, verifyTlsPeer } from '../../../runtimes/workload/tls.ts'
import { type SvidSpec, TestCa, testKey, toPemChain } from '../../support/spiffe-ca.ts'
import { TestWorkloadApiServer } from '../../support/workload-api-server.ts'
import { type SvidMessageOptions, svidMessage, x509Response } from '../../support/workload-svids.ts'
import { SETTLE } from '../../support/settle.ts'

const TD = 'example.org'
const A = `spiffe://${TD}/frontend`
const B = `spiffe://${TD}/backend`
const C = `spiffe://${TD}/other`

let ca: TestCa
beforeAll(() => {
  ca = TestCa.root(TD, 'p256', 0)
})

const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

/** A workload: its own Workload API server and an X509Source on it, with the SVID for `id`. */
async function workload(id: string, options: SvidMessageOptions = {}) {
  const api = await new TestWorkloadApiServer().listen()
  cleanup.push(() => api.close())
  const source = new X509Source({ address: api.address, backoff: { initialMs: 5, maxMs: 20 } })
  cleanup.push(() => source.close())
  await vi.waitFor(() => expect(api.openCalls(WorkloadApiMethod.fetchX509Svid)).toHaveLength(1), SETTLE)
  api.push(WorkloadApiMethod.fetchX509Svid, x509Response([svidMessage(ca, id, options)]))
  await source.ready
  return { api, source }
}

interface Served {
  readonly port: number
  readonly accepted: VerifiedConnection[]
  readonly refused: unknown[]
  /** handshakes OpenSSL refused (chain to no bundle authority, validity) */
  readonly handshakeErrors: Error[]
}

async function serve(source: X509Source, authorizer: Parameters<typeof createTlsServer>[1]): Promise<Served> {
  const accepted: VerifiedConnection[] = []
  const refused: unknown[] = []
  const handshakeErrors: Error[] = []
  const server = createTlsServer(
    source,
    authorizer,
    (conn) => {
      accepted.push(conn)
      conn.socket.end(`hello ${conn.peer.id}\n`)
    },
    { onRefused: (e) => refused.push(e) },
  )
  server.on('tlsClientError', (e) => handshakeErrors.push(e))
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { port: (server.address() as AddressInfo).port, accepted, refused, handshakeErrors }
}

function readAll(socket: tls.TLSSocket): Promise<string> {
  return new Promise((resolve) => {
    let text = ''
    socket.setEncoding('utf8')
    socket.on('data', (d) => (text += d))
    socket.on('error', () => {})
    socket.on('close', () => resolve(text))
  })
}

/** A raw TLS client presenting a hand-made certificate chain (for peers a source would refuse). */
function rawClient(port: number, chain: Uint8Array[], keyIndex = 2): Promise<{ text: string; error?: Error }> {
  return new Promise((resolve) => {
    const socket = tls.connect({
      host: '127.0.0.1',
      port,
      cert: toPemChain(chain),
      key: testKey('p256', keyIndex).privateKey.export({ type: 'pkcs8', format: 'pem' }),
      rejectUnauthorized: false,
    })
    let text = ''
    let error: Error | undefined
    socket.setEncoding('utf8')
    socket.on('data', (d) => (text += d))
    socket.on('error', (e) => (error = e))
    socket.on('close', () => resolve({ text, ...(error ? { error } : {}) }))
  })
}

describe('mTLS between two workloads with SVIDs from the Workload API', () => {
  it('each side verifies the other’s SPIFFE ID with vouch', async () => {
    const a = await workload(A)
    const b = await workload(B, { keyIndex: 5 })
    const srv = await serve(a.source, matchId(B))
    const conn = await connectTls(b.source, matchId(A), { host: '127.0.0.1', port: srv.port })
    expect(conn.peer.id.toString()).toBe(A)
    expect(conn.peer.verifiedChain.at(-1)!.raw).toEqual(ca.cert.der)
    expect(await readAll(conn.socket)).toBe(`hello ${B}\n`)
    expect(srv.accepted.map((c) => c.peer.id.toString())).toEqual([B])
    expect(srv.refused).toEqual([])
  })

  it('bytes the client sends before the server verified it reach the application afterwards', async () => {
    const a = await workload(A)
    const b = await workload(B, { keyIndex: 5 })
    const server = createTlsServer(a.source, matchId(B), ({ socket, peer }) => {
      socket.setEncoding('utf8')
      socket.once('data', (d) => socket.end(`${peer.id} said ${d}`))
    })
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    const socket = tls.connect({
      host: '127.0.0.1',
      port: (server.address() as AddressInfo).port,
      ...tlsClientOptions(b.source, matchId(A)),
    })
    socket.write('ping')
    await once(socket, 'secureConnect')
    expect((await verifyTlsPeer(socket, b.source, matchId(A))).id.toString()).toBe(A)
    expect(await readAll(socket)).toBe(`${B} said ping`)
  })

  it('the client refuses a server with the wrong ID inside the handshake', async () => {
    const a = await workload(A)
    const b = await workload(B, { keyIndex: 5 })
    const srv = await serve(a.source, matchId(B))
    await expect(connectTls(b.source, matchId(C), { host: '127.0.0.1', port: srv.port })).rejects.toMatchObject({
      code: 'ERR_SVID_ID_NOT_ALLOWED',
      message: `unexpected id "${A}": expected "${C}"`,
    })
    expect(srv.accepted).toEqual([])
  })

  it('the server refuses a client with the wrong ID: the connection is closed without a byte', async () => {
    const a = await workload(A)
    const b = await workload(B, { keyIndex: 5 })
    const srv = await serve(a.source, matchId(C))
    const conn = await connectTls(b.source, matchMemberOf(TD), { host: '127.0.0.1', port: srv.port })
    expect(await readAll(conn.socket)).toBe('')
    await vi.waitFor(() => expect(srv.refused).toHaveLength(1), SETTLE)
    expect(srv.refused[0]).toMatchObject({ code: 'ERR_SVID_ID_NOT_ALLOWED' })
    expect(srv.accepted).toEqual([])
  })

  it('a rotated SVID is presented on the next connection (with and without SNI)', async () => {
    const a = await workload(A)
    const b = await workload(B, { keyIndex: 5 })
    const srv = await serve(a.source, matchMemberOf(TD))
    const before = await connectTls(b.source, matchId(A), { host: '127.0.0.1', port: srv.port })
    before.socket.destroy()
    const rotated = new Promise<void>((resolve) => a.source.onUpdate(resolve))
    a.api.push(WorkloadApiMethod.fetchX509Svid, x509Response([svidMessage(ca, A, { keyIndex: 6 })]))
    await rotated
    const after = await connectTls(b.source, matchId(A), { host: '127.0.0.1', port: srv.port })
    after.socket.destroy()
    const sni = await connectTls(b.source, matchId(A), { host: '127.0.0.1', port: srv.port, servername: 'frontend' })
    sni.socket.destroy()
    const leaf = (c: VerifiedConnection) => Buffer.from(c.peer.certificates[0]!.raw).toString('hex')
    expect(leaf(after)).not.toBe(leaf(before))
    expect(leaf(after)).toBe(Buffer.from(a.source.getX509Svid().certificates[0]!.raw).toString('hex'))
    expect(leaf(sni)).toBe(leaf(after))
  })
})

describe('withdrawal (catalogue WA-4)', () => {
  it('WA-4: after PermissionDenied the server stops presenting the SVID, and presents it again after recovery', async () => {
    const a = await workload(A)
    const b = await workload(B, { keyIndex: 5 })
    const srv = await serve(a.source, matchMemberOf(TD))
    const first = await connectTls(b.source, matchId(A), { host: '127.0.0.1', port: srv.port })
    // the server verifies its side after the client's handshake is done: wait for it to accept
    // before closing (a socket closed first could end before the server's side was verified)
    await vi.waitFor(() => expect(srv.accepted).toHaveLength(1), SETTLE)
    first.socket.destroy()
    const withdrawn = new Promise<void>((resolve) => a.source.onUpdate(resolve))
    a.api.endAll(WorkloadApiMethod.fetchX509Svid, GrpcStatus.PERMISSION_DENIED, 'entry deleted')
    await withdrawn
    await expect(connectTls(b.source, matchId(A), { host: '127.0.0.1', port: srv.port })).rejects.toBeInstanceOf(Error)
    await expect(connectTls(b.source, matchId(A), { host: '127.0.0.1', port: srv.port, servername: 'frontend' })).rejects.toBeInstanceOf(
      Error,
    )
    expect(srv.accepted).toHaveLength(1)
    await vi.waitFor(() => expect(a.api.openCalls(WorkloadApiMethod.fetchX509Svid)).toHaveLength(1), SETTLE)
    const back = new Promise<void>((resolve) => a.source.onUpdate(resolve))
    a.api.push(WorkloadApiMethod.fetchX509Svid, x509Response([svidMessage(ca, A)]))
    await back
    const again = await connectTls(b.source, matchId(A), { host: '127.0.0.1', port: srv.port })
    expect(again.peer.id.toString()).toBe(A)
    again.socket.destroy()
  })
})

describe('peer validation by the server (catalogue XV, role server)', () => {
  const peer = (id: string, spec: SvidSpec = {}) => ca.issue(id, { key: testKey('p256', 2), ...spec }).chain

  it('XV-1, XV-2, XV-3, XV-4: accepts a plain SVID, one through an intermediate, one with DNS SANs, one with an empty subject and critical SAN', async () => {
    const a = await workload(A)
    const srv = await serve(a.source, matchMemberOf(TD))
    const inter = ca.childCa(TD, 'p256', 1)
    const chains = [
      peer(B),
      inter.issue(B, { key: testKey('p256', 2) }).chain,
      peer(B, { dns: ['backend.example.org'] }),
      peer(B, { subject: [], sanCritical: true }),
    ]
    for (const chain of chains) expect((await rawClient(srv.port, chain)).text).toBe(`hello ${B}\n`)
    expect(srv.accepted).toHaveLength(4)
  })

  // where each is refused: 'handshake' (OpenSSL against the bundle authorities) or the vouch code
  const refusedCases: [string, () => Uint8Array[], string][] = [
    [
      'XV-5 a CA of the same trust domain name that is not in the bundle',
      () => TestCa.root(TD, 'p256', 3).issue(B, { key: testKey('p256', 2) }).chain,
      'handshake',
    ],
    ['XV-6 expired', () => peer(B, { notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 3600_000) }), 'handshake'],
    [
      'XV-7 not yet valid',
      () => peer(B, { notBefore: new Date(Date.now() + 3600_000), notAfter: new Date(Date.now() + 7200_000) }),
      'handshake',
    ],
    ['XV-8 leaf cA=true', () => peer(B, { ca: true, keyUsage: ['digitalSignature'] }), 'ERR_SVID_INVALID'],
    ['XV-9 leaf keyCertSign', () => peer(B, { keyUsage: ['digitalSignature', 'keyCertSign'] }), 'ERR_SVID_INVALID'],
    ['XV-10 leaf cRLSign', () => peer(B, { keyUsage: ['digitalSignature', 'cRLSign'] }), 'ERR_SVID_INVALID'],
    ['XV-11 two URI SANs', () => peer(B, { uris: [B, C] }), 'ERR_SVID_INVALID'],
    ['XV-12 no URI SAN', () => peer(B, { uris: [], dns: ['backend.example.org'] }), 'ERR_SVID_INVALID'],
    ['XV-13 a URI SAN that is not spiffe://', () => peer(B, { uris: ['https://example.org/backend'] }), 'ERR_SVID_INVALID'],
    ['XV-14 a SPIFFE ID without a path', () => peer(`spiffe://${TD}`), 'ERR_SVID_INVALID'],
    ['XV-15 a trust domain without a bundle, signed by the local CA', () => peer('spiffe://other.example.org/x'), 'ERR_BUNDLE_NOT_FOUND'],
  ]
  for (const [name, chain, where] of refusedCases) {
    it(`${name}: refused (${where}), never handed to the application`, async () => {
      const a = await workload(A)
      // the authorizer allows any ID: the refusal is the verification's
      const srv = await serve(a.source, matchAny())
      const result = await rawClient(srv.port, chain())
      expect(result.text).toBe('')
      expect(srv.accepted).toEqual([])
      if (where === 'handshake') {
        await vi.waitFor(() => expect(srv.handshakeErrors).toHaveLength(1), SETTLE)
        expect(srv.refused).toEqual([])
      } else {
        await vi.waitFor(() => expect(srv.refused).toHaveLength(1), SETTLE)
        expect(srv.refused[0]).toMatchObject({ code: where })
      }
    })
  }
})

describe('peer validation by the client (catalogue XV, role client)', () => {
  const peer = (id: string, spec: SvidSpec = {}) => ca.issue(id, { key: testKey('p256', 2), ...spec }).chain

  /** A raw TLS server presenting a hand-made chain (what no X509Source would serve). */
  async function rawServer(chain: Uint8Array[]): Promise<number> {
    const server = tls.createServer(
      { cert: toPemChain(chain), key: testKey('p256', 2).privateKey.export({ type: 'pkcs8', format: 'pem' }) },
      (s) => s.end('served\n'),
    )
    server.on('tlsClientError', () => {})
    server.listen(0, '127.0.0.1')
    await once(server, 'listening')
    cleanup.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
    return (server.address() as AddressInfo).port
  }

  it('XV-1, XV-2, XV-3, XV-4: accepts a plain server SVID, one through an intermediate, with DNS SANs, with an empty subject', async () => {
    const b = await workload(B, { keyIndex: 5 })
    const inter = ca.childCa(TD, 'p256', 1)
    const chains = [
      peer(A),
      inter.issue(A, { key: testKey('p256', 2) }).chain,
      peer(A, { dns: ['frontend.example.org'] }),
      peer(A, { subject: [], sanCritical: true }),
    ]
    for (const chain of chains) {
      const conn = await connectTls(b.source, matchId(A), { host: '127.0.0.1', port: await rawServer(chain) })
      expect(conn.peer.id.toString()).toBe(A)
      expect(await readAll(conn.socket)).toBe('served\n')
    }
  })

  // the code of the refusal: OpenSSL's (chain, validity) or vouch's (SVID rules in checkServerIdentity)
  const refused: [string, () => Uint8Array[], string][] = [
    ['XV-5 untrusted CA', () => TestCa.root(TD, 'p256', 3).issue(A, { key: testKey('p256', 2) }).chain, 'UNABLE_TO_VERIFY_LEAF_SIGNATURE'],
    [
      'XV-6 expired',
      () => peer(A, { notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 3600_000) }),
      'CERT_HAS_EXPIRED',
    ],
    [
      'XV-7 not yet valid',
      () => peer(A, { notBefore: new Date(Date.now() + 3600_000), notAfter: new Date(Date.now() + 7200_000) }),
      'CERT_NOT_YET_VALID',
    ],
    ['XV-8 leaf cA=true', () => peer(A, { ca: true, keyUsage: ['digitalSignature'] }), 'ERR_SVID_INVALID'],
    ['XV-9 leaf keyCertSign', () => peer(A, { keyUsage: ['digitalSignature', 'keyCertSign'] }), 'ERR_SVID_INVALID'],
    ['XV-10 leaf cRLSign', () => peer(A, { keyUsage: ['digitalSignature', 'cRLSign'] }), 'ERR_SVID_INVALID'],
    ['XV-11 two URI SANs', () => peer(A, { uris: [A, C] }), 'ERR_SVID_INVALID'],
    ['XV-12 no URI SAN', () => peer(A, { uris: [], dns: ['frontend.example.org'] }), 'ERR_SVID_INVALID'],
    ['XV-13 a URI SAN that is not spiffe://', () => peer(A, { uris: ['https://example.org/frontend'] }), 'ERR_SVID_INVALID'],
    ['XV-14 no path', () => peer(`spiffe://${TD}`), 'ERR_SVID_INVALID'],
    ['XV-15 trust domain without a bundle', () => peer('spiffe://other.example.org/x'), 'ERR_BUNDLE_NOT_FOUND'],
  ]
  for (const [name, chain, code] of refused) {
    it(`${name}: the client refuses the server in the handshake (${code})`, async () => {
      const b = await workload(B, { keyIndex: 5 })
      const port = await rawServer(chain())
      await expect(connectTls(b.source, matchAny(), { host: '127.0.0.1', port })).rejects.toMatchObject({ code })
    })
  }
})
