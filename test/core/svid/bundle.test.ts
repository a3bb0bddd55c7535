import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SpiffeError, VerifyError } from '../../../core/errors.ts'
import { BundleSet } from '../../../core/svid/bundle-set.ts'
import { makeJwtBundleJson, parseJwtBundle } from '../../../core/svid/jwt-bundle.ts'
import { makeSpiffeBundleJson, parseSpiffeBundle, SpiffeBundle } from '../../../core/svid/spiffe-bundle.ts'
import { parseTrustDomain } from '../../../core/svid/spiffe-id.ts'
import { makeX509BundlePem, parseX509Bundle } from '../../../core/svid/x509-bundle.ts'
import { TestCa, x509Jwk } from '../../support/spiffe-ca.ts'

const dir = join(import.meta.dirname, '../../vectors/go-spiffe')
const read = (p: string) => new Uint8Array(readFileSync(join(dir, p)))
const text = (p: string) => readFileSync(join(dir, p), 'utf8')

interface Expectation {
  api: string
  name?: string
  file?: string
  bytes_literal?: string
  expect: 'ok' | 'error' | 'unspecified'
  num_authorities?: number
  num_jwt_authorities?: number
  num_x509_authorities?: number
  num_wit_authorities?: number
  refresh_hint_seconds?: number
  sequence_number?: number
}
const expectations: Expectation[] = JSON.parse(text('expectations.json'))

function code(f: () => unknown): string | undefined {
  try {
    f()
    return undefined
  } catch (e) {
    if (e instanceof VerifyError) return e.code
    throw e
  }
}

/** The outcomes vouch deliberately does not share with go-spiffe (docs/spiffe-conformance.md). */
const DELIBERATE: Record<string, string> = {
  'spiffebundle.Parse(td=domain.test)/x509-svid entry with 2 certs in x5c': 'ok: X509-SVID §6.2 says use x5c[0] and ignore the rest',
}

describe('go-spiffe bundle cases (expectations.json)', () => {
  const cases = expectations.filter((e) => /bundle\.Parse|jwtbundle\.Marshal/.test(e.api) && e.expect !== 'unspecified')
  it('covers the 20 file-driven bundle cases', () => {
    expect(cases.length).toBe(20)
  })
  for (const c of cases) {
    const label = `${c.api}/${c.name ?? c.file}`
    it(label, () => {
      const input = c.file ? read(c.file) : new TextEncoder().encode(c.bytes_literal ?? '')
      const deliberate = DELIBERATE[label]
      const want = deliberate ? 'ok' : c.expect
      if (c.api.startsWith('x509bundle')) {
        if (want === 'error') expect(code(() => parseX509Bundle('domain.test', input))).toBe('ERR_BUNDLE_MALFORMED')
        else expect(parseX509Bundle('domain.test', input).authorities.length).toBe(c.num_authorities)
      } else if (c.api.startsWith('jwtbundle.Marshal')) {
        const b = parseJwtBundle('example.org', input)
        const again = parseJwtBundle('example.org', makeJwtBundleJson(b))
        expect([...again.authorities]).toEqual([...b.authorities])
        expect(b.authorities.size).toBe(2)
      } else if (c.api.startsWith('jwtbundle') || c.api.startsWith('witbundle')) {
        if (want === 'error') expect(code(() => parseJwtBundle('example.org', input))).toBe('ERR_BUNDLE_MALFORMED')
        else expect(parseJwtBundle('example.org', input).authorities.size).toBe(c.num_jwt_authorities ?? c.num_wit_authorities)
      } else {
        if (want === 'error') {
          expect(code(() => parseSpiffeBundle('domain.test', input))).toBe('ERR_BUNDLE_MALFORMED')
          return
        }
        const b = parseSpiffeBundle('domain.test', input)
        if (deliberate) {
          expect(b.x509Authorities.length).toBe(1)
          return
        }
        expect(b.jwtAuthorities.size).toBe(c.num_jwt_authorities)
        expect(b.x509Authorities.length).toBe(c.num_x509_authorities ?? 1)
        expect(b.wit.authorities.size).toBe(c.num_wit_authorities ?? 0)
        expect(b.refreshHintSeconds).toBe(c.refresh_hint_seconds)
        expect(b.sequenceNumber).toBe(c.sequence_number === undefined ? undefined : BigInt(c.sequence_number))
      }
    })
  }

  it('x509bundle: authorities are unique by DER and PEM round-trips', () => {
    const b = parseX509Bundle('domain.test', read('bundle/x509bundle/testdata/certs.pem'))
    const one = parseX509Bundle('domain.test', read('bundle/x509bundle/testdata/cert.pem'))
    expect(b.hasAuthority(one.authorities[0]!.raw)).toBe(true)
    const doubled = parseX509Bundle(
      'domain.test',
      text('bundle/x509bundle/testdata/certs.pem') + text('bundle/x509bundle/testdata/cert.pem'),
    )
    expect(doubled.authorities.length).toBe(2)
    expect(parseX509Bundle('domain.test', makeX509BundlePem(b)).authorities.map((c) => c.raw)).toEqual(b.authorities.map((c) => c.raw))
  })
  it('x509bundle: a PRIVATE KEY block is refused (key.pem)', () => {
    expect(code(() => parseX509Bundle('domain.test', read('bundle/x509bundle/testdata/key.pem')))).toBe('ERR_BUNDLE_MALFORMED')
  })
  it('spiffebundle: serialize then parse gives the same bundle', () => {
    for (const f of ['spiffebundle_valid_1.json', 'spiffebundle_valid_2.json', 'spiffebundle_valid_with_wit.json']) {
      const b = parseSpiffeBundle('domain.test', read(`bundle/spiffebundle/testdata/${f}`))
      const again = parseSpiffeBundle('domain.test', makeSpiffeBundleJson(b))
      expect(again.x509Authorities.map((c) => c.raw)).toEqual(b.x509Authorities.map((c) => c.raw))
      expect([...again.jwtAuthorities]).toEqual([...b.jwtAuthorities])
      expect([...again.wit.authorities]).toEqual([...b.wit.authorities])
      expect([again.sequenceNumber, again.refreshHintSeconds]).toEqual([b.sequenceNumber, b.refreshHintSeconds])
    }
  })
  it('lookups answer only for the bundle trust domain', () => {
    const b = parseSpiffeBundle('domain.test', read('bundle/spiffebundle/testdata/spiffebundle_valid_1.json'))
    const other = parseTrustDomain('domain2.test')
    expect(b.getX509Bundle(other)).toBeUndefined()
    expect(b.getJwtBundle(other)).toBeUndefined()
    expect(b.getX509Bundle(parseTrustDomain('domain.test'))?.authorities.length).toBe(1)
  })
})

const base = () => JSON.parse(text('bundle/spiffebundle/testdata/spiffebundle_valid_1.json'))

describe('checklist D (SPIFFE_Trust_Domain_and_Bundle.md) and B15/B16', () => {
  it('D1: a bundle set keeps each trust domain with its own bundle', () => {
    const a = parseSpiffeBundle('a.test', JSON.stringify(base()))
    const set = new BundleSet([a, new SpiffeBundle('b.test')])
    expect(set.size).toBe(2)
    expect(set.getX509Bundle(parseTrustDomain('a.test'))?.authorities.length).toBe(1)
    expect(set.getX509Bundle(parseTrustDomain('b.test'))?.authorities.length).toBe(0)
    expect(set.getJwtBundle(parseTrustDomain('c.test'))).toBeUndefined()
    expect(set.get('spiffe://a.test')).toBe(a)
    set.delete('a.test')
    expect(set.has('a.test')).toBe(false)
  })
  it('D2: the document must be a JSON object (JWK Set)', () => {
    for (const t of ['[]', '"keys"', 'null', '{', '']) expect(code(() => parseSpiffeBundle('d.test', t))).toBe('ERR_BUNDLE_MALFORMED')
  })
  it('D3: unknown top-level members are tolerated', () => {
    expect(parseSpiffeBundle('d.test', JSON.stringify({ ...base(), other: { x: 1 }, spiffe_foo: 2 })).jwtAuthorities.size).toBe(1)
  })
  it('D4: spiffe_sequence is a non-negative integer, read to 64 bits exactly', () => {
    const big = JSON.stringify(base()).replace('{', '{"spiffe_sequence":18446744073709551615,')
    expect(parseSpiffeBundle('d.test', big).sequenceNumber).toBe(18446744073709551615n)
    expect(parseSpiffeBundle('d.test', makeSpiffeBundleJson(parseSpiffeBundle('d.test', big))).sequenceNumber).toBe(18446744073709551615n)
    for (const s of ['-1', '1.5', '"1"', '18446744073709551616']) {
      const t = JSON.stringify(base()).replace('{', `{"spiffe_sequence":${s},`)
      expect(
        code(() => parseSpiffeBundle('d.test', t)),
        s,
      ).toBe('ERR_BUNDLE_MALFORMED')
    }
  })
  it('D5: spiffe_refresh_hint is an integer number of seconds', () => {
    expect(parseSpiffeBundle('d.test', JSON.stringify({ ...base(), spiffe_refresh_hint: 300 })).refreshHintSeconds).toBe(300)
    for (const h of [1.5, '60', -1])
      expect(code(() => parseSpiffeBundle('d.test', JSON.stringify({ ...base(), spiffe_refresh_hint: h })))).toBe('ERR_BUNDLE_MALFORMED')
  })
  it('D6: keys must be present and an array; unknown uses are ignored', () => {
    expect(code(() => parseSpiffeBundle('d.test', '{"spiffe_sequence":1}'))).toBe('ERR_BUNDLE_MALFORMED')
    expect(code(() => parseSpiffeBundle('d.test', '{"keys":{}}'))).toBe('ERR_BUNDLE_MALFORMED')
  })
  it('D7: keys [] is a valid bundle that trusts nothing', () => {
    const b = parseSpiffeBundle('d.test', '{"keys":[]}')
    expect([b.x509Authorities.length, b.jwtAuthorities.size]).toEqual([0, 0])
  })
  it('D8: a JWK with a missing or unknown kty (or an unused curve) is ignored', () => {
    const doc = base()
    doc.keys.push({ use: 'jwt-svid', kid: 'a', kty: 'OKP', crv: 'Ed25519', x: 'AAAA' })
    doc.keys.push({ use: 'jwt-svid', kid: 'b', kty: 'EC', crv: 'secp256k1', x: 'AAAA', y: 'AAAA' })
    doc.keys.push({ use: 'jwt-svid', kid: 'c', x: 'AAAA' })
    doc.keys.push({ use: 'jwt-svid', kid: 'd', kty: 'oct', k: 'c2VjcmV0' })
    expect([...parseSpiffeBundle('d.test', JSON.stringify(doc)).jwtAuthorities.keys()]).toEqual(['C6vs25welZOx6WksNYfbMfiw9l96pMnD'])
  })
  it('D9: a JWK with a missing or unknown use (case-sensitive) is ignored', () => {
    const doc = base()
    for (const k of doc.keys) k.use = k.use.toUpperCase()
    doc.keys.push({ ...doc.keys[1], use: undefined, kid: 'x' })
    doc.keys.push({ ...doc.keys[1], use: 'sig', kid: 'y' })
    const b = parseSpiffeBundle('d.test', JSON.stringify(doc))
    expect([b.x509Authorities.length, b.jwtAuthorities.size]).toEqual([0, 0])
  })
  it('D10/C11: jwt-svid and wit-svid entries need a unique non-empty kid; private members are refused', () => {
    expect(code(() => parseSpiffeBundle('d.test', read('bundle/spiffebundle/testdata/spiffebundle_missing_kid.json')))).toBe(
      'ERR_BUNDLE_MALFORMED',
    )
    const dup = base()
    dup.keys.push({ ...dup.keys[1] })
    expect(code(() => parseSpiffeBundle('d.test', JSON.stringify(dup)))).toBe('ERR_BUNDLE_MALFORMED')
    const priv = base()
    priv.keys[1].d = 'AAAA'
    expect(code(() => parseSpiffeBundle('d.test', JSON.stringify(priv)))).toBe('ERR_BUNDLE_MALFORMED')
  })
  it('B15/B16: x509-svid entries without x5c are ignored, only x5c[0] is used, its key must match the JWK', () => {
    const none = base()
    delete none.keys[0].x5c
    expect(parseSpiffeBundle('d.test', JSON.stringify(none)).x509Authorities.length).toBe(0)
    const empty = base()
    empty.keys[0].x5c = []
    expect(parseSpiffeBundle('d.test', JSON.stringify(empty)).x509Authorities.length).toBe(0)
    const ca = TestCa.root('d.test')
    const two = base()
    two.keys[0].x5c.push(x509Jwk(ca.cert.der).x5c)
    const b = parseSpiffeBundle('d.test', JSON.stringify(two))
    expect(b.x509Authorities.length).toBe(1)
    expect(b.x509Authorities[0]!.raw).toEqual(parseSpiffeBundle('d.test', JSON.stringify(base())).x509Authorities[0]!.raw)
    const mismatch = base()
    mismatch.keys[0].x5c = (x509Jwk(ca.cert.der) as { x5c: string[] }).x5c
    expect(code(() => parseSpiffeBundle('d.test', JSON.stringify(mismatch)))).toBe('ERR_BUNDLE_MALFORMED')
    const generated = { keys: [{ use: 'x509-svid', ...x509Jwk(ca.cert.der) }] }
    expect(parseSpiffeBundle('d.test', JSON.stringify(generated)).x509Authorities[0]!.raw).toEqual(ca.cert.der)
  })
  it('errors are SpiffeErrors, never TypeErrors (property: mutated real bundles)', () => {
    const seeds = ['spiffebundle_valid_1.json', 'spiffebundle_valid_2.json', 'spiffebundle_valid_with_wit.json'].map((f) =>
      text(`bundle/spiffebundle/testdata/${f}`),
    )
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.nat(), fc.nat(), fc.string({ maxLength: 8 }), fc.nat(3), (seed, a, b, ins, mode) => {
        const i = a % (seed.length + 1)
        const mutated =
          mode === 0
            ? seed.slice(0, i)
            : mode === 1
              ? seed.slice(0, i) + ins + seed.slice(i)
              : mode === 2
                ? seed.slice(0, i) + seed.slice(i + 1 + (b % 8))
                : seed + ins
        try {
          parseSpiffeBundle('d.test', mutated)
          parseJwtBundle('d.test', mutated)
        } catch (e) {
          if (!(e instanceof SpiffeError)) throw e
        }
      }),
      { numRuns: 10_000 },
    )
  })
})

describe('parseX509Bundle never throws anything but a VerifyError (property)', () => {
  it('mutated real PEM bundles', () => {
    const seed = text('bundle/x509bundle/testdata/certs.pem')
    fc.assert(
      fc.property(fc.nat(), fc.nat(255), fc.nat(2), (a, byte, mode) => {
        const i = a % (seed.length + 1)
        const t =
          mode === 0
            ? seed.slice(0, i)
            : mode === 1
              ? seed.slice(0, i) + String.fromCharCode(byte) + seed.slice(i + 1)
              : seed.slice(0, i) + seed.slice(i + 2)
        try {
          parseX509Bundle('d.test', t)
        } catch (e) {
          if (!(e instanceof VerifyError)) throw e
        }
      }),
      { numRuns: 10_000 },
    )
  })
})

describe('bundle map (§5.1.1: D11-D13)', async () => {
  const { parseBundleMap, makeBundleMapJson } = await import('../../../core/svid/bundle-map.ts')
  const one = text('bundle/spiffebundle/testdata/spiffebundle_valid_1.json')
  const two = text('bundle/spiffebundle/testdata/spiffebundle_valid_2.json')
  it('D11: trust_domains keyed by trust domain name; may be empty; must exist', () => {
    const set = parseBundleMap(`{"trust_domains":{"a.test":${one},"b.test":${two}}}`)
    expect(set.trustDomains().map((t) => t.name)).toEqual(['a.test', 'b.test'])
    expect(set.get('b.test')?.jwtAuthorities.size).toBe(6)
    expect(parseBundleMap('{"trust_domains":{}}').size).toBe(0)
    for (const t of [
      '{}',
      '{"trust_domains":[]}',
      `{"trust_domains":{"spiffe://a.test":${one}}}`,
      `{"trust_domains":{"A.test":${one}}}`,
      `{"trust_domains":{"a:443":${one}}}`,
      '{"trust_domains":{"a.test":[]}}',
    ]) {
      expect(
        code(() => parseBundleMap(t)),
        t,
      ).toBe('ERR_BUNDLE_MALFORMED')
    }
  })
  it('D12: a trust domain key that appears twice rejects the map', () => {
    expect(code(() => parseBundleMap(`{"trust_domains":{"a.test":${one},"a.test":${two}}}`))).toBe('ERR_BUNDLE_MALFORMED')
  })
  it('D13: each bundle keeps its own refresh hint; the map round-trips', () => {
    const set = parseBundleMap(`{"spiffe_refresh_hint":5,"trust_domains":{"a.test":${one},"b.test":${two}}}`)
    expect([set.get('a.test')?.refreshHintSeconds, set.get('b.test')?.refreshHintSeconds]).toEqual([undefined, 60])
    const again = parseBundleMap(makeBundleMapJson(set))
    expect(again.trustDomains().map((t) => t.name)).toEqual(['a.test', 'b.test'])
    expect([...again.get('b.test')!.jwtAuthorities.keys()]).toEqual([...set.get('b.test')!.jwtAuthorities.keys()])
  })
})
