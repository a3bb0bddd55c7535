import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../../cli/main.ts'
import { TestCa, bundleJson, makeJwtAuthority, mintJwtSvid, toPemChain, type JwtAuthority } from '../../support/spiffe-ca.ts'

// vouch verify x509-svid, vouch verify jwt-svid, vouch bundle show (in-process)
const dir = mkdtempSync(join(tmpdir(), 'vouch-cli-spiffe-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const f = (name: string) => join(dir, name)
const vectors = join(import.meta.dirname, '../../vectors/go-spiffe')

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

let ca: TestCa
let jwtKey: JwtAuthority
let token: string
beforeAll(async () => {
  ca = TestCa.root('example.org', 'p256', 0)
  const inter = ca.childCa('example.org', 'p256', 1)
  writeFileSync(f('chain.pem'), toPemChain(inter.issue('spiffe://example.org/api').chain))
  writeFileSync(f('leaf.der'), ca.issue('spiffe://example.org/db').chain[0]!)
  writeFileSync(f('bundle.pem'), toPemChain([ca.cert.der]))
  jwtKey = await makeJwtAuthority('ES256', 'k1')
  writeFileSync(f('bundle.json'), bundleJson([jwtKey], [ca.cert.der], { spiffe_sequence: 7, spiffe_refresh_hint: 60 }))
  writeFileSync(f('jwks-only.json'), bundleJson([jwtKey]))
  const exp = Math.floor(Date.now() / 1000) + 300
  token = await mintJwtSvid(jwtKey, { claims: { sub: 'spiffe://example.org/w', aud: ['svc'], exp } })
  writeFileSync(f('token.jwt'), token + '\n')
  writeFileSync(f('garbage.json'), '{"keys": 5}')
  const other = TestCa.root('other.test', 'p256', 3)
  writeFileSync(f('other-td.pem'), toPemChain(other.issue('spiffe://other.test/api').chain))
  writeFileSync(
    f('map.json'),
    `{"trust_domains":{"example.org":${bundleJson([jwtKey], [ca.cert.der])},"other.test":${bundleJson([], [other.cert.der])}}}`,
  )
})

describe('vouch verify x509-svid', () => {
  it('valid chain with an intermediate, bundle as PEM or SPIFFE JSON, trust domain inferred from the CA', async () => {
    for (const b of ['bundle.pem', 'bundle.json']) {
      const r = await run('verify', 'x509-svid', '--bundle', f(b), '--output', 'json', f('chain.pem'))
      expect(r.code, r.err + r.out).toBe(0)
      const j = JSON.parse(r.out)
      expect(j).toMatchObject({ valid: true, spiffeId: 'spiffe://example.org/api', trustDomain: 'example.org' })
      expect(j.path.length).toBe(3)
    }
  })
  it('DER leaf, --id and --trust-domain', async () => {
    expect(
      (
        await run(
          'verify',
          'x509-svid',
          '--bundle',
          f('bundle.pem'),
          '--trust-domain',
          'example.org',
          '--id',
          'spiffe://example.org/db',
          f('leaf.der'),
        )
      ).code,
    ).toBe(0)
    const r = await run(
      'verify',
      'x509-svid',
      '--bundle',
      f('bundle.pem'),
      '--id',
      'spiffe://example.org/api',
      '--output',
      'json',
      f('leaf.der'),
    )
    expect(r.code).toBe(1)
    expect(JSON.parse(r.out).error.code).toBe('ERR_SVID_ID_NOT_ALLOWED')
  })
  it('invalid: another trust domain, expired at --at, malformed go-spiffe leaf', async () => {
    let r = await run('verify', 'x509-svid', '--bundle', f('bundle.pem'), '--output', 'json', f('other-td.pem'))
    expect([r.code, JSON.parse(r.out).error.code]).toEqual([1, 'ERR_BUNDLE_NOT_FOUND'])
    r = await run('verify', 'x509-svid', '--bundle', f('bundle.pem'), '--at', '2099-01-01T00:00:00Z', f('chain.pem'))
    expect(r.code).toBe(1)
    expect(r.out).toMatch(/^invalid: ERR_SVID_UNTRUSTED/)
    r = await run('verify', 'x509-svid', '--bundle', f('bundle.pem'), join(vectors, 'svid/x509svid/testdata/wrong-leaf-ca-true.pem'))
    expect([r.code, r.out]).toEqual([1, expect.stringMatching(/ERR_SVID_INVALID/)])
  })
  it('usage errors exit 2', async () => {
    expect((await run('verify', 'x509-svid', f('chain.pem'))).code).toBe(2)
    expect((await run('verify', 'x509-svid', '--bundle', f('nope.pem'), f('chain.pem'))).code).toBe(2)
    expect((await run('verify', 'x509-svid', '--bundle', f('bundle.pem'), '--at', 'yesterday', f('chain.pem'))).code).toBe(2)
    expect((await run('verify', 'x509-svid', '--bundle', f('bundle.pem'), '--id', 'spiffe://x/', f('chain.pem'))).code).toBe(2)
    // a bundle that does not name its trust domain needs --trust-domain
    expect((await run('verify', 'x509-svid', '--bundle', join(vectors, 'bundle/x509bundle/testdata/cert.pem'), f('chain.pem'))).code).toBe(
      2,
    )
  })
})

describe('bundle maps (federation)', () => {
  it('verify picks the bundle of the SVID own trust domain from a map', async () => {
    for (const chain of ['chain.pem', 'other-td.pem']) {
      const r = await run('verify', 'x509-svid', '--bundle', f('map.json'), '--output', 'json', f(chain))
      expect(r.code, r.err + r.out).toBe(0)
    }
    expect((await run('verify', 'jwt-svid', '--bundle', f('map.json'), '--audience', 'svc', token)).code).toBe(0)
    expect((await run('verify', 'x509-svid', '--bundle', f('map.json'), '--trust-domain', 'example.org', f('chain.pem'))).code).toBe(2)
  })
  it('bundle show lists every trust domain of a map', async () => {
    const r = await run('bundle', 'show', '--output', 'json', f('map.json'))
    expect(r.code, r.err).toBe(0)
    const j = JSON.parse(r.out)
    expect(j.format).toBe('map')
    expect(j.bundles.map((b: { trustDomain: string }) => b.trustDomain)).toEqual(['example.org', 'other.test'])
  })
})

describe('vouch verify jwt-svid', () => {
  it('valid token given inline or as a file', async () => {
    const r = await run('verify', 'jwt-svid', '--bundle', f('bundle.json'), '--audience', 'svc', '--output', 'json', token)
    expect(r.code, r.err + r.out).toBe(0)
    expect(JSON.parse(r.out)).toMatchObject({
      valid: true,
      spiffeId: 'spiffe://example.org/w',
      audience: ['svc'],
      header: { alg: 'ES256', kid: 'k1' },
    })
    const t = await run(
      'verify',
      'jwt-svid',
      '--bundle',
      f('jwks-only.json'),
      '--trust-domain',
      'example.org',
      '--audience',
      'x,svc',
      f('token.jwt'),
    )
    expect(t.code, t.err + t.out).toBe(0)
    expect(t.out).toMatch(/^valid spiffe:\/\/example.org\/w/)
  })
  it('invalid: wrong audience, expired at --at, bundle of another trust domain', async () => {
    let r = await run('verify', 'jwt-svid', '--bundle', f('bundle.json'), '--audience', 'other', '--output', 'json', token)
    expect([r.code, JSON.parse(r.out).error.code]).toEqual([1, 'ERR_JWT_SVID_AUDIENCE'])
    r = await run(
      'verify',
      'jwt-svid',
      '--bundle',
      f('bundle.json'),
      '--audience',
      'svc',
      '--at',
      '2099-01-01T00:00:00Z',
      '--output',
      'json',
      token,
    )
    expect([r.code, JSON.parse(r.out).error.code]).toEqual([1, 'ERR_JWT_SVID_EXPIRED'])
    r = await run(
      'verify',
      'jwt-svid',
      '--bundle',
      f('jwks-only.json'),
      '--trust-domain',
      'other.test',
      '--audience',
      'svc',
      '--output',
      'json',
      token,
    )
    expect([r.code, JSON.parse(r.out).error.code]).toEqual([1, 'ERR_BUNDLE_NOT_FOUND'])
  })
  it('usage errors exit 2', async () => {
    expect((await run('verify', 'jwt-svid', '--bundle', f('bundle.json'), token)).code).toBe(2)
    expect((await run('verify', 'jwt-svid', '--bundle', f('jwks-only.json'), '--audience', 'svc', token)).code).toBe(2)
    expect((await run('verify', 'jwt-svid', '--bundle', f('bundle.json'), '--audience', 'svc', '--skew', '-3', token)).code).toBe(2)
    expect((await run('verify', 'jwt-svid', '--bundle', f('bundle.json'), '--audience', 'svc', f('missing.jwt'))).code).toBe(2)
  })
  it('a malformed token on the command line is an invalid token (exit 1, ERR_JWT_SVID_INVALID), not an unreadable file', async () => {
    const [h, p, sig] = token.split('.') as [string, string, string]
    for (const bad of [`${h}.${p}`, `${h}.${p}.${sig}.x`, `${h}!.${p}.${sig}`, 'not-a-jwt', `${h}.${p}.${sig}=`]) {
      const r = await run('verify', 'jwt-svid', '--bundle', f('bundle.json'), '--audience', 'svc', '--output', 'json', bad)
      expect([r.code, JSON.parse(r.out)], bad).toEqual([
        1,
        { valid: false, error: expect.objectContaining({ code: 'ERR_JWT_SVID_INVALID' }) },
      ])
      const text = await run('verify', 'jwt-svid', '--bundle', f('bundle.json'), '--audience', 'svc', bad)
      expect([text.code, text.out], bad).toEqual([1, expect.stringMatching(/^invalid: ERR_JWT_SVID_INVALID: /)])
    }
    // a path (it has a slash) that names no file is still an unreadable file, exit 2 with its code
    const missing = await run('verify', 'jwt-svid', '--bundle', f('bundle.json'), '--audience', 'svc', '--output', 'json', f('missing.jwt'))
    expect([missing.code, JSON.parse(missing.out).error.code]).toEqual([2, 'ERR_FILE_UNREADABLE'])
    expect(JSON.parse(missing.out).error.message).toBe(`read token file ${f('missing.jwt')}: no such file or directory`)
  })
})

describe('vouch bundle show', () => {
  it('lists the authorities of a SPIFFE bundle (json and text)', async () => {
    const r = await run('bundle', 'show', '--output', 'json', f('bundle.json'))
    expect(r.code, r.err).toBe(0)
    const j = JSON.parse(r.out)
    expect(j).toMatchObject({
      format: 'spiffe',
      trustDomain: 'example.org',
      sequence: '7',
      refreshHintSeconds: 60,
      jwtAuthorities: [{ kid: 'k1', key: 'EC P-256' }],
    })
    expect(j.x509Authorities[0].spiffeId).toBe('spiffe://example.org')
    expect(j.x509Authorities[0].sha256).toMatch(/^[0-9a-f:]+$/i)
    const t = await run('bundle', 'show', join(vectors, 'bundle/spiffebundle/testdata/spiffebundle_valid_2.json'))
    expect(t.code).toBe(0)
    expect(t.out).toMatch(/jwt authorities: 6/)
    expect(t.out).toMatch(/refresh hint: 60s/)
  })
  it('PEM bundles; malformed bundles exit 1', async () => {
    const r = await run('bundle', 'show', '--output', 'json', join(vectors, 'bundle/x509bundle/testdata/certs.pem'))
    expect(r.code).toBe(0)
    expect(JSON.parse(r.out)).toMatchObject({ format: 'pem', trustDomain: null })
    expect(JSON.parse(r.out).x509Authorities.length).toBe(2)
    const bad = await run('bundle', 'show', '--output', 'json', f('garbage.json'))
    expect([bad.code, JSON.parse(bad.out).error.code]).toEqual([1, 'ERR_BUNDLE_MALFORMED'])
    expect((await run('bundle', 'show')).code).toBe(2)
  })
})
