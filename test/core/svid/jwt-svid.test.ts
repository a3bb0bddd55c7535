import { beforeAll, describe, expect, it } from 'vitest'
import { SpiffeError } from '../../../core/errors.ts'
import { parseJwtBundle, type JwtBundle } from '../../../core/svid/jwt-bundle.ts'
import { parseJwtSvidUnverified, verifyJwtSvid, type VerifyJwtSvidOptions } from '../../../core/svid/jwt-svid.ts'
import { matchId } from '../../../core/svid/match.ts'
import type { JwtBundleSource } from '../../../core/svid/bundle-source.ts'
import type { TrustDomain } from '../../../core/svid/trust-domain.ts'
import { bundleJson, makeJwtAuthority, mintJwtSvid, rawJws, type JwtAuthority, type JwsAlg } from '../../support/spiffe-ca.ts'

const NOW = Date.UTC(2026, 10, 23, 12, 0, 0)
const nowS = NOW / 1000
const opts: VerifyJwtSvidOptions = { audience: 'audience', at: NOW }

async function rejects(p: Promise<unknown>, code: string, message?: RegExp): Promise<SpiffeError> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e, 'expected a rejection').toBeInstanceOf(SpiffeError)
  expect((e as SpiffeError).code).toBe(code)
  if (message) expect((e as SpiffeError).message).toMatch(message)
  return e as SpiffeError
}

let key1: JwtAuthority // ES384, kid authority1
let key2: JwtAuthority // RS256, kid authority2
let other: JwtAuthority // ES256 of other.test
let bundle: JwtBundle
let bundles: JwtBundleSource
const claims = (over: Record<string, unknown> = {}) => ({
  sub: 'spiffe://trustdomain/host',
  iss: 'issuer',
  exp: nowS + 60,
  aud: ['audience'],
  iat: nowS,
  ...over,
})

beforeAll(async () => {
  key1 = await makeJwtAuthority('ES384', 'authority1')
  key2 = await makeJwtAuthority('RS256', 'authority2')
  other = await makeJwtAuthority('ES256', 'other1')
  bundle = parseJwtBundle('trustdomain', bundleJson([key1, key2]))
  const otherBundle = parseJwtBundle('other.test', bundleJson([other]))
  bundles = { getJwtBundle: (td: TrustDomain) => bundle.getJwtBundle(td) ?? otherBundle.getJwtBundle(td) }
})

describe('go-spiffe jwtsvid.ParseAndValidate cases (EXPECTATIONS.md §3, minted at run time)', () => {
  it('valid ES384 token: id, audience, expiry, claims', async () => {
    const token = await mintJwtSvid(key1, { claims: claims() })
    const svid = await verifyJwtSvid(token, bundle, opts)
    expect(svid.id.toString()).toBe('spiffe://trustdomain/host')
    expect(svid.audience).toEqual(['audience'])
    expect(svid.expiry).toBe(nowS + 60)
    expect(svid.claims).toEqual(claims())
    expect(svid.token).toBe(token)
    expect(svid.header).toEqual({ alg: 'ES384', kid: 'authority1', typ: 'JWT' })
  })
  it('valid RS256 token with the second authority', async () => {
    const token = await mintJwtSvid(key2, { claims: claims() })
    expect((await verifyJwtSvid(token, bundle, opts)).id.path).toBe('/host')
  })
  it('"invalid token" is not a compact JWS', async () => {
    await rejects(verifyJwtSvid('invalid token', bundle, opts), 'ERR_JWT_SVID_INVALID', /compact serialization/)
  })
  it('the HS256 jwt.io token is refused on alg before anything else', async () => {
    const hs256 =
      'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c'
    await rejects(verifyJwtSvid(hs256, bundle, opts), 'ERR_JWT_SVID_INVALID', /alg "HS256" is not allowed/)
  })
  it('missing sub', async () => {
    const token = await mintJwtSvid(key1, { claims: claims({ sub: undefined }) })
    await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_INVALID', /no sub claim/)
  })
  it('missing exp', async () => {
    const token = await mintJwtSvid(key1, { claims: claims({ exp: undefined }) })
    await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_INVALID', /no exp claim/)
  })
  it('expired (exp = now - 1 min)', async () => {
    const token = await mintJwtSvid(key1, { claims: claims({ exp: nowS - 60 }) })
    await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_EXPIRED')
  })
  it('audience ["another"] against aud ["audience"]', async () => {
    const token = await mintJwtSvid(key1, { claims: claims() })
    await rejects(verifyJwtSvid(token, bundle, { ...opts, audience: ['another'] }), 'ERR_JWT_SVID_AUDIENCE')
  })
  it('sub "invalid subject"', async () => {
    const token = await mintJwtSvid(key1, { claims: claims({ sub: 'invalid subject' }) })
    await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_INVALID', /sub is not a valid spiffe id: scheme is missing or invalid/)
  })
  it('no kid header', async () => {
    const token = await mintJwtSvid(key1, { header: { kid: undefined }, claims: claims() })
    await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_INVALID', /no kid/)
  })
  it('sub of a trust domain without a bundle', async () => {
    const token = await mintJwtSvid(key1, { claims: claims({ sub: 'spiffe://another.domain/host' }) })
    await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_BUNDLE_NOT_FOUND', /"another.domain"/)
  })
  it('kid "noKey"', async () => {
    const token = await mintJwtSvid(key1, { header: { kid: 'noKey' }, claims: claims() })
    await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_SVID_UNTRUSTED', /no jwt authority "noKey"/)
  })
  it('signed by the RSA key under kid authority1 (an EC key)', async () => {
    const token = await mintJwtSvid({ ...key2, kid: 'authority1' }, { claims: claims() })
    await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_SIGNATURE', /authority "authority1" is EC P-384, alg RS256 needs RSA/)
  })
  it('typ "invalid"', async () => {
    const token = await mintJwtSvid(key1, { header: { typ: 'invalid' }, claims: claims() })
    await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_INVALID', /typ must be JWT or JOSE/)
  })
})

describe('JWT-SVID rejections required by the issue', () => {
  it('alg none', async () => {
    // unsigned: the empty third part already fails the compact shape
    const token = rawJws({ alg: 'none', kid: 'authority1', typ: 'JWT' }, claims())
    await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_INVALID', /compact serialization/)
    const withSig = rawJws({ alg: 'none', kid: 'authority1' }, claims(), 'AAAA')
    await rejects(verifyJwtSvid(withSig, bundle, opts), 'ERR_JWT_SVID_INVALID', /alg "none"/)
  })
  it('HS256 keyed with the public key bytes (key confusion)', async () => {
    const { CompactSign } = await import('jose')
    const secret = new TextEncoder().encode(JSON.stringify(key2.publicJwk))
    const token = await new CompactSign(new TextEncoder().encode(JSON.stringify(claims())))
      .setProtectedHeader({ alg: 'HS256', kid: 'authority2', typ: 'JWT' })
      .sign(secret)
    await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_INVALID', /alg "HS256"/)
  })
  it('a token signed by another trust domain key (same kid, sub in trustdomain)', async () => {
    const token = await mintJwtSvid({ ...other, kid: 'authority1', alg: 'ES256' }, { claims: claims() })
    // kid authority1 is P-384 in trustdomain: refused before any signature check
    await rejects(verifyJwtSvid(token, bundles, opts), 'ERR_JWT_SVID_SIGNATURE')
    const forged = await makeJwtAuthority('ES384', 'authority1')
    const token2 = await mintJwtSvid(forged, { claims: claims() })
    await rejects(verifyJwtSvid(token2, bundles, opts), 'ERR_JWT_SVID_SIGNATURE', /does not verify/)
  })
  it('C10/A15: a key from the bundle of a different trust domain is never used', async () => {
    // signed by other.test's key, kid of that key, but sub claims trustdomain
    const token = await mintJwtSvid(other, { claims: claims() })
    await rejects(
      verifyJwtSvid(token, bundles, opts),
      'ERR_SVID_UNTRUSTED',
      /no jwt authority "other1" in the bundle of trust domain "trustdomain"/,
    )
    // the same token with sub in other.test verifies: the key is fine, only its trust domain was wrong
    const ok = await mintJwtSvid(other, { claims: claims({ sub: 'spiffe://other.test/w' }) })
    expect((await verifyJwtSvid(ok, bundles, opts)).id.toString()).toBe('spiffe://other.test/w')
  })
  it('an expired token, also with skew', async () => {
    const token = await mintJwtSvid(key1, { claims: claims({ exp: nowS }) })
    await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_EXPIRED')
    expect((await verifyJwtSvid(token, bundle, { ...opts, clockSkewSeconds: 30 })).expiry).toBe(nowS)
    await rejects(verifyJwtSvid(token, bundle, { ...opts, at: NOW + 31_000, clockSkewSeconds: 30 }), 'ERR_JWT_SVID_EXPIRED')
  })
  it('a wrong audience (string aud too)', async () => {
    const token = await mintJwtSvid(key1, { claims: claims({ aud: 'someone-else' }) })
    await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_AUDIENCE')
    expect((await verifyJwtSvid(token, bundle, { ...opts, audience: ['x', 'someone-else'] })).audience).toEqual(['someone-else'])
  })
  it('a tampered payload', async () => {
    const token = await mintJwtSvid(key1, { claims: claims() })
    const [h, , s] = token.split('.')
    const evil = Buffer.from(JSON.stringify(claims({ sub: 'spiffe://trustdomain/admin' }))).toString('base64url')
    await rejects(verifyJwtSvid(`${h}.${evil}.${s}`, bundle, opts), 'ERR_JWT_SVID_SIGNATURE')
  })
  it('the matcher decides after the signature', async () => {
    const token = await mintJwtSvid(key1, { claims: claims() })
    await rejects(verifyJwtSvid(token, bundle, { ...opts, matcher: matchId('spiffe://trustdomain/other') }), 'ERR_SVID_ID_NOT_ALLOWED')
    expect((await verifyJwtSvid(token, bundle, { ...opts, matcher: matchId('spiffe://trustdomain/host') })).id.path).toBe('/host')
  })
  it('caller misuse is a TypeError, not a verification result', async () => {
    const token = await mintJwtSvid(key1, { claims: claims() })
    await expect(verifyJwtSvid(token, bundle, { audience: [], at: NOW })).rejects.toThrow(TypeError)
  })
})

describe('checklist C (JWT-SVID.md)', () => {
  it('C1: JWS JSON serialization and JWE (5 parts) are refused', async () => {
    const token = await mintJwtSvid(key1, { claims: claims() })
    const [h, p, s] = token.split('.')
    const json = JSON.stringify({ protected: h, payload: p, signature: s })
    await rejects(verifyJwtSvid(json, bundle, opts), 'ERR_JWT_SVID_INVALID', /compact/)
    await rejects(verifyJwtSvid(`${h}.${p}.${s}.x.y`, bundle, opts), 'ERR_JWT_SVID_INVALID', /5 part/)
    await rejects(verifyJwtSvid(`${h}.${p}.`, bundle, opts), 'ERR_JWT_SVID_INVALID')
  })
  it('C2: headers other than alg, kid, typ are refused (jku, jwk, x5u, crit, b64)', async () => {
    for (const extra of [{ jku: 'https://evil/' }, { jwk: key1.publicJwk }, { x5u: 'https://evil/' }, { cty: 'JWT' }]) {
      const token = await mintJwtSvid(key1, { header: extra, claims: claims() })
      await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_INVALID', /header parameter/)
    }
    const crit = rawJws({ alg: 'ES384', kid: 'authority1', crit: ['exp'], exp: 1 }, claims(), 'AAAA')
    await rejects(verifyJwtSvid(crit, bundle, opts), 'ERR_JWT_SVID_INVALID', /header parameter "crit"/)
  })
  it('C3: every allowed alg verifies; EdDSA, HS*, none and lowercase algs are refused', async () => {
    for (const alg of ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512'] as JwsAlg[]) {
      const a = await makeJwtAuthority(alg, `k-${alg}`)
      const b = parseJwtBundle('trustdomain', bundleJson([a]))
      const token = await mintJwtSvid(a, { claims: claims() })
      expect((await verifyJwtSvid(token, b, opts)).header.alg).toBe(alg)
    }
    for (const alg of ['EdDSA', 'HS256', 'HS512', 'none', 'es256', 'RS1', '']) {
      await rejects(
        verifyJwtSvid(rawJws({ alg, kid: 'authority1' }, claims(), 'AAAA'), bundle, opts),
        'ERR_JWT_SVID_INVALID',
        /is not allowed/,
      )
    }
  })
  it('C4: kid is required to select the key', async () => {
    const token = await mintJwtSvid(key1, { header: { kid: '' }, claims: claims() })
    await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_INVALID', /no kid/)
  })
  it('C5: typ absent, JWT or JOSE accepted; anything else refused', async () => {
    for (const typ of [undefined, 'JWT', 'JOSE']) {
      const token = await mintJwtSvid(key1, { header: { typ }, claims: claims() })
      expect((await verifyJwtSvid(token, bundle, opts)).header.typ).toBe(typ)
    }
    for (const typ of ['jwt', 'at+jwt', 'application/jwt', 7]) {
      const token = await mintJwtSvid(key1, { header: { typ }, claims: claims() })
      await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_INVALID', /typ/)
    }
  })
  it('C6: sub must be a SPIFFE ID string', async () => {
    for (const sub of [42, 'spiffe://trustdomain/a/../b', 'https://trustdomain/x', 'spiffe://TrustDomain/x']) {
      const token = await mintJwtSvid(key1, { claims: claims({ sub }) })
      await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_INVALID', /sub/)
    }
  })
  it('C7: aud must be present and non-empty', async () => {
    for (const aud of [undefined, [], [7], 5]) {
      const token = await mintJwtSvid(key1, { claims: claims({ aud }) })
      await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_INVALID', /aud/)
    }
  })
  it('C8: exp must be present, numeric and in the future', async () => {
    for (const exp of ['9999999999', null]) {
      const token = await mintJwtSvid(key1, { claims: claims({ exp }) })
      await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_INVALID', /exp/)
    }
    const token = await mintJwtSvid(key1, { claims: claims({ exp: nowS - 1 }) })
    await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_EXPIRED')
  })
  it('C9: nbf in the future is refused (RFC 7519 §4.1.5)', async () => {
    const token = await mintJwtSvid(key1, { claims: claims({ nbf: nowS + 120 }) })
    await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_INVALID', /not yet valid/)
  })
  it('C12: only jwt-svid entries of a SPIFFE bundle are JWT authorities', async () => {
    const doc = JSON.parse(bundleJson([key1]))
    doc.keys[0].use = 'x509-svid'
    const b = parseJwtBundle('trustdomain', JSON.stringify(doc))
    expect(b.authorities.size).toBe(0)
    const token = await mintJwtSvid(key1, { claims: claims() })
    await rejects(verifyJwtSvid(token, b, opts), 'ERR_SVID_UNTRUSTED')
  })
  it('C13: jti is allowed and not tracked', async () => {
    const token = await mintJwtSvid(key1, { claims: claims({ jti: 'abc' }) })
    await verifyJwtSvid(token, bundle, opts)
    expect((await verifyJwtSvid(token, bundle, opts)).claims.jti).toBe('abc')
  })
  it('parseJwtSvidUnverified reports the claims without checking the signature', async () => {
    const token = await mintJwtSvid(key1, { claims: claims() })
    const [h, p] = token.split('.')
    expect(parseJwtSvidUnverified(`${h}.${p}.AAAA`).id.toString()).toBe('spiffe://trustdomain/host')
  })
})

describe('parseJwtSvidUnverified never throws anything but a VerifyError (property)', () => {
  it('mutated real tokens', async () => {
    const { default: fc } = await import('fast-check')
    const { VerifyError } = await import('../../../core/errors.ts')
    const seeds = [await mintJwtSvid(key1, { claims: claims() }), await mintJwtSvid(key2, { claims: claims({ aud: 'x', nbf: 1 }) })]
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.nat(), fc.string({ maxLength: 6 }), fc.nat(3), (seed, a, ins, mode) => {
        const i = a % (seed.length + 1)
        const t =
          mode === 0
            ? seed.slice(0, i)
            : mode === 1
              ? seed.slice(0, i) + ins + seed.slice(i)
              : mode === 2
                ? seed.slice(0, i) + seed.slice(i + 1)
                : seed + ins
        try {
          parseJwtSvidUnverified(t)
        } catch (e) {
          if (!(e instanceof VerifyError)) throw e
        }
      }),
      { numRuns: 10_000 },
    )
    // structured garbage: JSON headers/claims of random shape
    fc.assert(
      fc.property(fc.jsonValue(), fc.jsonValue(), (h, c) => {
        const b = (v: unknown) => Buffer.from(JSON.stringify(v) ?? 'null').toString('base64url')
        try {
          parseJwtSvidUnverified(`${b(h)}.${b(c)}.AAAA`)
        } catch (e) {
          if (!(e instanceof VerifyError)) throw e
        }
      }),
      { numRuns: 10_000 },
    )
  })
})

describe('repeated names in the JWS header or claims', () => {
  it('two alg or two sub members are refused, never resolved to one of them', async () => {
    const { CompactSign } = await import('jose')
    const h = Buffer.from('{"alg":"ES384","kid":"authority1","alg":"ES384"}').toString('base64url')
    const p = Buffer.from(JSON.stringify(claims())).toString('base64url')
    await rejects(verifyJwtSvid(`${h}.${p}.AAAA`, bundle, opts), 'ERR_JWT_SVID_INVALID', /appears twice/)
    // a properly signed token whose claims name sub twice
    const body = JSON.stringify(claims()).replace('{', '{"sub":"spiffe://trustdomain/admin",')
    const token = await new CompactSign(new TextEncoder().encode(body))
      .setProtectedHeader({ alg: 'ES384', kid: 'authority1' })
      .sign(key1.privateKey)
    await rejects(verifyJwtSvid(token, bundle, opts), 'ERR_JWT_SVID_INVALID', /"sub" appears twice/)
  })
})
