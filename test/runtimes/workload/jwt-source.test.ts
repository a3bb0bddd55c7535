/**
 * JwtSource: JWT bundles from FetchJWTBundles, JWT-SVIDs from FetchJWTSVID, and local validation
 * with vouch's verifyJwtSvid (the source never calls ValidateJWTSVID: its results are the SDK's,
 * not delegated, catalogue methodology §2.4). Case IDs from the SPIFFE SDK conformance catalogue.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { matchId } from '../../../core/svid/match.ts'
import { GrpcStatus } from '../../../core/workload/grpc-status.ts'
import { decodeJwtSvidRequest, encodeJwtSvidResponse } from '../../../core/workload/jwt-svid.ts'
import { WorkloadApiMethod } from '../../../core/workload/service.ts'
import { JwtSource, type SourceOptions, createJwtSource } from '../../../runtimes/workload/sources.ts'
import { type JwtAuthority, bundleJson, makeJwtAuthority, mintJwtSvid } from '../../support/spiffe-ca.ts'
import { TestWorkloadApiServer } from '../../support/workload-api-server.ts'
import { jwtBundlesResponse } from '../../support/workload-svids.ts'
import { SETTLE } from '../../support/settle.ts'

const TD = 'spiffe://example.org'
const FED = 'spiffe://fed.example.org'
const SUB = `${TD}/workload`
const BUNDLES = WorkloadApiMethod.fetchJwtBundles

let k1: JwtAuthority
let k2: JwtAuthority
let k3: JwtAuthority
let kf: JwtAuthority
beforeAll(async () => {
  ;[k1, k2, k3, kf] = await Promise.all([
    makeJwtAuthority('ES256', 'k1'),
    makeJwtAuthority('RS256', 'k2'),
    makeJwtAuthority('ES384', 'k3'),
    makeJwtAuthority('ES256', 'kf'),
  ])
})

const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

async function setup(options: SourceOptions = {}) {
  const server = await new TestWorkloadApiServer().listen()
  cleanup.push(() => server.close())
  const src = new JwtSource({ address: server.address, backoff: { initialMs: 5, maxMs: 40 }, ...options })
  cleanup.push(() => src.close())
  await vi.waitFor(() => expect(server.openCalls(BUNDLES)).toHaveLength(1), SETTLE)
  return { server, src }
}

function nextUpdate(src: JwtSource): Promise<void> {
  return new Promise((resolve) => {
    const off = src.onUpdate(() => {
      off()
      resolve()
    })
  })
}

const now = () => Math.floor(Date.now() / 1000)
function token(key: JwtAuthority, claims: Record<string, unknown> = {}, header: Record<string, unknown> = {}) {
  return mintJwtSvid(key, { claims: { sub: SUB, aud: ['conformance'], exp: now() + 300, ...claims }, header })
}

describe('JwtSource: bundles and validation', () => {
  it('JV-1, JB-4: validates a token against the streamed bundle, selecting the key by kid among several', async () => {
    const { server, src } = await setup()
    server.push(BUNDLES, jwtBundlesResponse({ [TD]: bundleJson([k1, k2, k3]) }))
    await src.ready
    const svid = await src.validateJwtSvid(await token(k2), 'conformance')
    expect(svid.id.toString()).toBe(SUB)
    expect(svid.header.kid).toBe('k2')
    expect(server.callsOf(WorkloadApiMethod.validateJwtSvid)).toHaveLength(0)
  })

  it('JB-1, JB-2: picks up an added key and stops accepting a removed one', async () => {
    const { server, src } = await setup()
    server.push(BUNDLES, jwtBundlesResponse({ [TD]: bundleJson([k1]) }))
    await src.ready
    const t3 = await token(k3)
    await expect(src.validateJwtSvid(t3, 'conformance')).rejects.toMatchObject({ code: 'ERR_SVID_UNTRUSTED' })
    let u = nextUpdate(src)
    server.push(BUNDLES, jwtBundlesResponse({ [TD]: bundleJson([k1, k3]) }))
    await u
    await expect(src.validateJwtSvid(t3, 'conformance')).resolves.toBeDefined()
    u = nextUpdate(src)
    server.push(BUNDLES, jwtBundlesResponse({ [TD]: bundleJson([k3]) }))
    await u
    await expect(src.validateJwtSvid(await token(k1), 'conformance')).rejects.toMatchObject({ code: 'ERR_SVID_UNTRUSTED' })
  })

  it('JB-3, JB-8, JV-17, JV-18: a federated trust domain has its own bundle; removed, its tokens are refused', async () => {
    const { server, src } = await setup()
    server.push(BUNDLES, jwtBundlesResponse({ [TD]: bundleJson([k1]), [FED]: bundleJson([kf]) }))
    await src.ready
    const fedToken = await mintJwtSvid(kf, { claims: { sub: `${FED}/svc`, aud: 'conformance', exp: now() + 300 } })
    await expect(src.validateJwtSvid(fedToken, 'conformance', matchId(`${FED}/svc`))).resolves.toBeDefined()
    // sub in the federated trust domain, signed with a key of the local one (JV-17)
    const crossed = await mintJwtSvid(k1, { claims: { sub: `${FED}/svc`, aud: 'conformance', exp: now() + 300 } })
    await expect(src.validateJwtSvid(crossed, 'conformance')).rejects.toMatchObject({ code: 'ERR_SVID_UNTRUSTED' })
    const u = nextUpdate(src)
    server.push(BUNDLES, jwtBundlesResponse({ [TD]: bundleJson([k1]) }))
    await u
    await expect(src.validateJwtSvid(fedToken, 'conformance')).rejects.toMatchObject({ code: 'ERR_BUNDLE_NOT_FOUND' })
  })

  it('JB-5, JB-6: keys with use x509-svid or an unknown kty are ignored, the rest keeps working', async () => {
    const { server, src } = await setup()
    const doc = JSON.parse(bundleJson([k1, k2])) as { keys: Record<string, unknown>[] }
    doc.keys[1]!.use = 'x509-svid'
    doc.keys.push({ kty: 'OKP-unknown', kid: 'weird', use: 'jwt-svid', x: 'AA' })
    server.push(BUNDLES, jwtBundlesResponse({ [TD]: JSON.stringify(doc) }))
    await src.ready
    await expect(src.validateJwtSvid(await token(k1), 'conformance')).resolves.toBeDefined()
    await expect(src.validateJwtSvid(await token(k2), 'conformance')).rejects.toMatchObject({ code: 'ERR_SVID_UNTRUSTED' })
  })

  it('JB-7: a bundle with empty keys trusts nothing for its trust domain', async () => {
    const { server, src } = await setup()
    server.push(BUNDLES, jwtBundlesResponse({ [TD]: '{"keys":[]}' }))
    await src.ready
    await expect(src.validateJwtSvid(await token(k1), 'conformance')).rejects.toMatchObject({ code: 'ERR_SVID_UNTRUSTED' })
  })

  it('JV-8, JV-12: audience and expiry are checked by vouch’s verifier', async () => {
    const { server, src } = await setup()
    server.push(BUNDLES, jwtBundlesResponse({ [TD]: bundleJson([k1]) }))
    await src.ready
    await expect(src.validateJwtSvid(await token(k1, { aud: ['other'] }), 'conformance')).rejects.toMatchObject({
      code: 'ERR_JWT_SVID_AUDIENCE',
    })
    await expect(src.validateJwtSvid(await token(k1, { exp: now() - 300 }), 'conformance')).rejects.toMatchObject({
      code: 'ERR_JWT_SVID_EXPIRED',
    })
  })

  it('WA-2 for JWT bundles: an empty map or a malformed JWKS is discarded, the previous bundles stay', async () => {
    const errors: unknown[] = []
    const { server, src } = await setup({ onError: (e) => errors.push(e) })
    server.push(BUNDLES, jwtBundlesResponse({ [TD]: bundleJson([k1]) }))
    await src.ready
    server.push(BUNDLES, jwtBundlesResponse({}))
    server.push(BUNDLES, jwtBundlesResponse({ [TD]: '{"keys": 3}' }))
    server.push(BUNDLES, jwtBundlesResponse({ 'not a td!': bundleJson([k1]) }))
    const barrier = nextUpdate(src)
    server.push(BUNDLES, jwtBundlesResponse({ [TD]: bundleJson([k1, k3]) }))
    await barrier
    expect(errors.map((e) => (e as { code: string }).code)).toEqual(Array(3).fill('ERR_WORKLOAD_RESPONSE_INVALID'))
    await expect(src.validateJwtSvid(await token(k3), 'conformance')).resolves.toBeDefined()
  })

  it('PermissionDenied withdraws the bundles (the source then trusts nothing) and the stream is retried', async () => {
    const { server, src } = await setup()
    server.push(BUNDLES, jwtBundlesResponse({ [TD]: bundleJson([k1]) }))
    await src.ready
    const u = nextUpdate(src)
    server.endAll(BUNDLES, GrpcStatus.PERMISSION_DENIED)
    await u
    await expect(src.validateJwtSvid(await token(k1), 'conformance')).rejects.toMatchObject({ code: 'ERR_BUNDLE_NOT_FOUND' })
    await vi.waitFor(() => expect(server.callsOf(BUNDLES)).toHaveLength(2), SETTLE)
  })
})

describe('JwtSource: FetchJWTSVID', () => {
  it('JF-1, JF-2, JF-3: sends the audiences and SPIFFE ID, returns the parsed token with its hint', async () => {
    const { server, src } = await setup()
    server.push(BUNDLES, jwtBundlesResponse({ [TD]: bundleJson([k1]) }))
    await src.ready
    const t = await token(k1, { aud: ['a', 'b'] })
    server.handle(WorkloadApiMethod.fetchJwtSvid, (call) => {
      call.send(encodeJwtSvidResponse({ svids: [{ spiffeId: SUB, svid: t, hint: 'internal' }] }))
      call.end()
    })
    const svid = await src.fetchJwtSvid({ audience: ['a', 'b'], spiffeId: SUB })
    expect(svid).toMatchObject({ token: t, hint: 'internal', audience: ['a', 'b'] })
    expect(svid.id.toString()).toBe(SUB)
    expect(decodeJwtSvidRequest(server.callsOf(WorkloadApiMethod.fetchJwtSvid)[0]!.request!)).toEqual({
      audience: ['a', 'b'],
      spiffeId: SUB,
    })
    // the fetched token verifies with the bundles of the same source
    await expect(src.validateJwtSvid(svid.token, 'b')).resolves.toBeDefined()
  })

  it('JF-4: PermissionDenied is an error, not a stale token', async () => {
    const { server, src } = await setup()
    server.push(BUNDLES, jwtBundlesResponse({ [TD]: bundleJson([k1]) }))
    await src.ready
    server.handle(WorkloadApiMethod.fetchJwtSvid, (call) => call.end(GrpcStatus.PERMISSION_DENIED, 'no entry'))
    await expect(src.fetchJwtSvid({ audience: 'a' })).rejects.toMatchObject({
      code: 'ERR_WORKLOAD_STATUS',
      detail: { grpcStatusName: 'PERMISSION_DENIED' },
    })
  })

  it('WA-2 for JWT-SVIDs: an empty list, empty fields, a token that is no JWT-SVID or whose sub differs are refused', async () => {
    const { server, src } = await setup()
    server.push(BUNDLES, jwtBundlesResponse({ [TD]: bundleJson([k1]) }))
    await src.ready
    const good = await token(k1)
    const cases: [Parameters<typeof encodeJwtSvidResponse>[0], RegExp][] = [
      [{ svids: [] }, /svids is empty/],
      [{ svids: [{ spiffeId: '', svid: good, hint: '' }] }, /spiffe_id is empty/],
      [{ svids: [{ spiffeId: SUB, svid: '', hint: '' }] }, /svid is empty/],
      [{ svids: [{ spiffeId: SUB, svid: 'not.a.jwt', hint: '' }] }, /svids\[0\]/],
      [{ svids: [{ spiffeId: `${TD}/other`, svid: good, hint: '' }] }, /is not spiffe_id/],
    ]
    for (const [response, message] of cases) {
      server.handle(WorkloadApiMethod.fetchJwtSvid, (call) => {
        call.send(encodeJwtSvidResponse(response))
        call.end()
      })
      await expect(src.fetchJwtSvid({ audience: 'conformance' })).rejects.toMatchObject({
        code: 'ERR_WORKLOAD_RESPONSE_INVALID',
        message: expect.stringMatching(message),
      })
    }
    await expect(src.fetchJwtSvid({ audience: [] })).rejects.toThrow(TypeError)
  })

  it('createJwtSource resolves after the first bundles', async () => {
    const server = await new TestWorkloadApiServer().listen()
    cleanup.push(() => server.close())
    server.handle(BUNDLES, (call) => call.send(jwtBundlesResponse({ [TD]: bundleJson([k1]) })))
    const src = await createJwtSource({ address: server.address })
    cleanup.push(() => src.close())
    expect(src.bundles.get('example.org')!.jwtAuthorities.has('k1')).toBe(true)
  })
})
