import { describe, expect, it } from 'vitest'
import { SpiffeError } from '../../../core/errors.ts'
import { withPlatform } from '../../../core/platform.ts'
import { BundleEndpointClient, fetchBundle, type BundleFetcher, type BundleFetchRequest } from '../../../core/svid/federation.ts'
import { parseSpiffeBundle } from '../../../core/svid/spiffe-bundle.ts'
import { X509Bundle } from '../../../core/svid/x509-bundle.ts'
import { parseCertificate } from '../../../core/x509/certificate.ts'
import { TestCa, bundleJson, x509Jwk } from '../../support/spiffe-ca.ts'

const URL_ = 'https://bundle.remote.test/'
const ENDPOINT_ID = 'spiffe://remote.test/spire/server'

async function rejects(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e, 'expected a rejection').toBeInstanceOf(SpiffeError)
  expect((e as SpiffeError).code).toBe(code)
  if (message) expect((e as SpiffeError).message).toMatch(message)
}

function docFor(ca: TestCa, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ ...extra, keys: [{ use: 'x509-svid', ...x509Jwk(ca.cert.der) }] })
}

describe('fetchBundle, https_web profile', () => {
  it('returns the parsed bundle of the asked trust domain', async () => {
    const ca = TestCa.root('remote.test')
    const seen: BundleFetchRequest[] = []
    const fetch: BundleFetcher = async (r) => (
      seen.push(r), { status: 200, body: docFor(ca, { spiffe_refresh_hint: 60, spiffe_sequence: 3 }) }
    )
    const b = await fetchBundle({ trustDomain: 'remote.test', url: URL_, profile: { type: 'https_web' }, fetch })
    expect(b.trustDomain.name).toBe('remote.test')
    expect(b.x509Authorities[0]!.raw).toEqual(ca.cert.der)
    expect([b.refreshHintSeconds, b.sequenceNumber]).toEqual([60, 3n])
    expect(seen).toEqual([{ url: URL_, profile: 'https_web' }])
  })
  it('refuses non-https URLs, non-200 answers, transport failures and malformed bundles', async () => {
    const fetch: BundleFetcher = async () => ({ status: 200, body: '{"keys":[]}' })
    await expect(fetchBundle({ trustDomain: 'r.test', url: 'http://x/', profile: { type: 'https_web' }, fetch })).rejects.toThrow(TypeError)
    await rejects(
      fetchBundle({ trustDomain: 'r.test', url: URL_, profile: { type: 'https_web' }, fetch: async () => ({ status: 404, body: '' }) }),
      'ERR_FEDERATION_FETCH',
      /status 404/,
    )
    await rejects(
      fetchBundle({
        trustDomain: 'r.test',
        url: URL_,
        profile: { type: 'https_web' },
        fetch: async () => Promise.reject(new Error('ECONNREFUSED')),
      }),
      'ERR_FEDERATION_FETCH',
      /ECONNREFUSED/,
    )
    await rejects(
      fetchBundle({
        trustDomain: 'r.test',
        url: URL_,
        profile: { type: 'https_web' },
        fetch: async () => ({ status: 200, body: '<html>' }),
      }),
      'ERR_BUNDLE_MALFORMED',
    )
  })
})

describe('fetchBundle, https_spiffe profile', () => {
  const ca = TestCa.root('remote.test', 'p256', 0)
  const endpointBundle = new X509Bundle('remote.test', [parseCertificate(ca.cert.der)])
  const serving =
    (chain: Uint8Array[], body: string): BundleFetcher =>
    async (r) => {
      await r.verifyPeer!(chain)
      return { status: 200, body }
    }

  it('authenticates the endpoint SVID against the known bundle and the configured ID', async () => {
    const { chain } = ca.issue(ENDPOINT_ID)
    const profile = { type: 'https_spiffe', endpointSpiffeId: ENDPOINT_ID, bundles: endpointBundle } as const
    const b = await fetchBundle({ trustDomain: 'remote.test', url: URL_, profile, fetch: serving(chain, docFor(ca)) })
    expect(b.x509Authorities.length).toBe(1)
  })
  it('refuses another SPIFFE ID, an untrusted chain, and a transport that skipped verifyPeer', async () => {
    const profile = { type: 'https_spiffe', endpointSpiffeId: ENDPOINT_ID, bundles: endpointBundle } as const
    const wrongId = ca.issue('spiffe://remote.test/other').chain
    await rejects(
      fetchBundle({ trustDomain: 'remote.test', url: URL_, profile, fetch: serving(wrongId, docFor(ca)) }),
      'ERR_SVID_ID_NOT_ALLOWED',
    )
    const impostor = TestCa.root('remote.test', 'p256', 3).issue(ENDPOINT_ID).chain
    await rejects(
      fetchBundle({ trustDomain: 'remote.test', url: URL_, profile, fetch: serving(impostor, docFor(ca)) }),
      'ERR_SVID_UNTRUSTED',
    )
    await rejects(
      fetchBundle({ trustDomain: 'remote.test', url: URL_, profile, fetch: async () => ({ status: 200, body: docFor(ca) }) }),
      'ERR_FEDERATION_FETCH',
      /verifyPeer was not called/,
    )
  })
})

describe('BundleEndpointClient: refresh hint and https_spiffe rollover', () => {
  it('refreshes when the hint elapses, keeps the old bundle on failure, and authenticates with the newest bundle', async () => {
    let now = Date.now()
    const platform = withPlatform({ now: () => now })
    const ca1 = TestCa.root('remote.test', 'p256', 0)
    const ca2 = TestCa.root('remote.test', 'p256', 3)
    // the endpoint first serves a bundle with both CAs, then switches its own SVID to ca2
    let serverChain = ca1.issue(ENDPOINT_ID).chain
    let body = JSON.stringify({
      spiffe_refresh_hint: 30,
      keys: [
        { use: 'x509-svid', ...x509Jwk(ca1.cert.der) },
        { use: 'x509-svid', ...x509Jwk(ca2.cert.der) },
      ],
    })
    let calls = 0
    let fail = false
    const fetch: BundleFetcher = async (r) => {
      calls++
      if (fail) throw new Error('timeout')
      await r.verifyPeer!(serverChain)
      return { status: 200, body }
    }
    const client = new BundleEndpointClient({
      trustDomain: 'remote.test',
      url: URL_,
      profile: {
        type: 'https_spiffe',
        endpointSpiffeId: ENDPOINT_ID,
        bundles: new X509Bundle('remote.test', [parseCertificate(ca1.cert.der)]),
      },
      fetch,
      platform,
    })
    expect((await client.refreshIfDue())?.x509Authorities.length).toBe(2)
    expect(client.nextRefreshAt).toBe(now + 30_000)
    now += 29_000
    await client.refreshIfDue()
    expect(calls).toBe(1)
    now += 1_000
    serverChain = ca2.issue(ENDPOINT_ID).chain // trusted only through the fetched bundle
    body = docFor(ca2, {})
    expect((await client.refreshIfDue())?.x509Authorities.length).toBe(1)
    expect(calls).toBe(2)
    expect(client.nextRefreshAt).toBe(now + 300_000) // no hint: the default
    fail = true
    now += 300_000
    await rejects(client.refreshIfDue(), 'ERR_FEDERATION_FETCH')
    expect(client.bundle!.x509Authorities[0]!.raw).toEqual(ca2.cert.der)
  })
  it('a JWT bundle fetched over https_web verifies tokens of that trust domain only', async () => {
    const { makeJwtAuthority, mintJwtSvid } = await import('../../support/spiffe-ca.ts')
    const { verifyJwtSvid } = await import('../../../core/svid/jwt-svid.ts')
    const { BundleSet } = await import('../../../core/svid/bundle-set.ts')
    const a = await makeJwtAuthority('ES256', 'k1')
    const b = await fetchBundle({
      trustDomain: 'remote.test',
      url: URL_,
      profile: { type: 'https_web' },
      fetch: async () => ({ status: 200, body: bundleJson([a]) }),
    })
    const set = new BundleSet([b, parseSpiffeBundle('local.test', '{"keys":[]}')])
    const exp = Math.floor(Date.now() / 1000) + 60
    const ok = await mintJwtSvid(a, { claims: { sub: 'spiffe://remote.test/w', aud: 'me', exp } })
    expect((await verifyJwtSvid(ok, set, { audience: 'me' })).id.toString()).toBe('spiffe://remote.test/w')
    const cross = await mintJwtSvid(a, { claims: { sub: 'spiffe://local.test/w', aud: 'me', exp } })
    await rejects(verifyJwtSvid(cross, set, { audience: 'me' }), 'ERR_SVID_UNTRUSTED')
  })
})
