import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { SpiffeError, VerifyError } from '../../../core/errors.ts'
import { parseCertificate } from '../../../core/x509/certificate.ts'
import { BundleSet } from '../../../core/svid/bundle-set.ts'
import { matchId, matchMemberOf, matchOneOf } from '../../../core/svid/match.ts'
import { SpiffeBundle } from '../../../core/svid/spiffe-bundle.ts'
import { X509Bundle } from '../../../core/svid/x509-bundle.ts'
import { parseX509Svid, verifyX509Svid, type CertificateInput } from '../../../core/svid/x509-svid.ts'
import type { X509BundleSource } from '../../../core/svid/bundle-source.ts'
import { TestCa, makeCertificate, testKey, toPemChain } from '../../support/spiffe-ca.ts'

const dir = join(import.meta.dirname, '../../vectors/go-spiffe')
const text = (p: string) => readFileSync(join(dir, p), 'utf8')

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
function parseFails(chain: string | CertificateInput[], message: RegExp): void {
  let err: unknown
  try {
    parseX509Svid(chain)
  } catch (e) {
    err = e
  }
  expect(err).toBeInstanceOf(SpiffeError)
  expect((err as SpiffeError).code).toBe('ERR_SVID_INVALID')
  expect((err as SpiffeError).message).toMatch(message)
}

describe('go-spiffe x509svid.Parse cases (certificate side; EXPECTATIONS.md §1)', () => {
  const ok = [
    ['good-leaf-only.pem', 1],
    ['good-leaf-and-intermediate.pem', 2],
    ['good-key-and-cert.pem', 1],
    ['good-cert-and-key.pem', 1],
  ] as const
  for (const [f, n] of ok) {
    it(`${f}: ok, spiffe://example.org/workload-1, ${n} cert(s)`, () => {
      const svid = parseX509Svid(text(`svid/x509svid/testdata/${f}`))
      expect(svid.id.toString()).toBe('spiffe://example.org/workload-1')
      expect(svid.certificates.length).toBe(n)
    })
  }
  const bad: [string, RegExp][] = [
    ['key-pkcs8-rsa.pem', /no certificates found/],
    ['not-pem', /no pem blocks found/],
    ['corrupt-cert.pem', /does not parse/],
    ['wrong-leaf-empty-id.pem', /contains no uri san/],
    ['wrong-leaf-ca-true.pem', /cA true/],
    ['wrong-leaf-no-digital-signature.pem', /lacks digitalSignature/],
    ['wrong-leaf-cert-sign.pem', /has keyCertSign/],
    ['wrong-leaf-crl-sign.pem', /has cRLSign/],
    ['wrong-intermediate-no-ca.pem', /signing certificate 1 does not have basicConstraints cA true/],
    ['wrong-intermediate-no-key-cert-sign.pem', /signing certificate 1 keyUsage lacks keyCertSign/],
  ]
  for (const [f, m] of bad) it(`${f}: rejected (${m.source})`, () => parseFails(text(`svid/x509svid/testdata/${f}`), m))
  it('ParseRaw: the good chains as DER (1 and 2 certificates)', async () => {
    const { parsePemCertificates } = await import('../../../core/bytes/pem.ts')
    for (const [f, n] of [
      ['good-leaf-only.pem', 1],
      ['good-leaf-and-intermediate.pem', 2],
    ] as const) {
      const svid = parseX509Svid(parsePemCertificates(text(`svid/x509svid/testdata/${f}`)))
      expect([svid.id.toString(), svid.certificates.length]).toEqual(['spiffe://example.org/workload-1', n])
    }
  })
  it('ParseRaw: "not-DER-encoded" as certificate bytes', () => {
    parseFails([new TextEncoder().encode('not-DER-encoded')], /does not parse/)
  })
  it('root-path leaf (runtime: self-signed P-256, URI spiffe://example.org)', () => {
    const c = makeCertificate({ key: testKey('p256'), ca: false, keyUsage: ['digitalSignature'], uris: ['spiffe://example.org'] })
    parseFails([c.der], /has no path/)
  })
  it('never throws anything but a VerifyError on mutated real chains (property)', () => {
    const seeds = ['good-leaf-only.pem', 'good-leaf-and-intermediate.pem'].map((f) =>
      parseX509Svid(text(`svid/x509svid/testdata/${f}`)).certificates.map((c) => c.raw),
    )
    fc.assert(
      fc.property(fc.constantFrom(...seeds), fc.nat(), fc.nat(255), fc.nat(2), (chain, at, byte, mode) => {
        const leaf = chain[0]!
        const i = at % leaf.length
        const m =
          mode === 0
            ? leaf.slice(0, i)
            : mode === 1
              ? Uint8Array.from([...leaf.slice(0, i), byte, ...leaf.slice(i + 1)])
              : Uint8Array.from([...leaf, byte])
        try {
          parseX509Svid([m, ...chain.slice(1)])
        } catch (e) {
          if (!(e instanceof VerifyError)) throw e
        }
      }),
      { numRuns: 10_000 },
    )
  })
})

const TD1 = 'domain1.test'
const TD2 = 'domain2.test'
let ca1: TestCa
let ca2: TestCa
let bundle1: X509Bundle
let bundle2: X509Bundle
const auth = (ca: TestCa) => parseCertificate(ca.cert.der)

beforeAll(() => {
  ca1 = TestCa.root(TD1, 'p256', 0)
  ca2 = TestCa.root(TD2, 'p256', 3)
  bundle1 = new X509Bundle(TD1, [auth(ca1)])
  bundle2 = new X509Bundle(TD2, [auth(ca2)])
})

describe('go-spiffe x509svid.Verify cases (EXPECTATIONS.md §2, minted and properly signed)', () => {
  it('leaf1 + bundle1: ok, verified chain leaf -> ca1', async () => {
    const { chain } = ca1.issue(`spiffe://${TD1}/workload`)
    const r = await verifyX509Svid(chain, bundle1)
    expect(r.id.toString()).toBe('spiffe://domain1.test/workload')
    expect(r.verifiedChain.map((c) => c.raw)).toEqual([chain[0], ca1.cert.der])
  })
  it('empty chain', async () => {
    await rejects(verifyX509Svid([], bundle1), 'ERR_SVID_INVALID', /no certificates/)
  })
  it('bundle source without the leaf trust domain (empty set / bundle of domain2 only)', async () => {
    const { chain } = ca1.issue(`spiffe://${TD1}/workload`)
    await rejects(verifyX509Svid(chain, new BundleSet()), 'ERR_BUNDLE_NOT_FOUND', /"domain1.test"/)
    await rejects(verifyX509Svid(chain, bundle2), 'ERR_BUNDLE_NOT_FOUND', /"domain1.test"/)
  })
  it('bundle for domain1.test with no roots', async () => {
    const { chain } = ca1.issue(`spiffe://${TD1}/workload`)
    await rejects(verifyX509Svid(chain, new X509Bundle(TD1)), 'ERR_SVID_UNTRUSTED', /no authorities/)
  })
  it('leaf URI sparfe://domain1.test/workload', async () => {
    const { chain } = ca1.issue('sparfe://domain1.test/workload')
    await rejects(verifyX509Svid(chain, bundle1), 'ERR_SVID_INVALID', /scheme is missing or invalid/)
  })
  it('bundle labelled domain1.test holding ca2', async () => {
    const { chain } = ca1.issue(`spiffe://${TD1}/workload`)
    const e = await rejects(verifyX509Svid(chain, new X509Bundle(TD1, [auth(ca2)])), 'ERR_SVID_UNTRUSTED')
    expect(e.detail.reason).toMatch(/ERR_X509_(NO_PATH|SIGNATURE_INVALID)/)
  })
  it('leaf with no URI SAN', async () => {
    const { chain } = ca1.issue('', { uris: [], dns: ['example.org'] })
    await rejects(verifyX509Svid(chain, bundle1), 'ERR_SVID_INVALID', /no uri san/)
  })
  it('leaf with two URI SANs (same URI twice)', async () => {
    const { chain } = ca1.issue('', { uris: [`spiffe://${TD1}/workload`, `spiffe://${TD1}/workload`] })
    await rejects(verifyX509Svid(chain, bundle1), 'ERR_SVID_INVALID', /2 uri sans/)
  })
  it('leaf with cA=true', async () => {
    const { chain } = ca1.issue(`spiffe://${TD1}/workload`, { ca: true })
    await rejects(verifyX509Svid(chain, bundle1), 'ERR_SVID_INVALID', /cA true/)
  })
  it('leaf with keyCertSign added', async () => {
    const { chain } = ca1.issue(`spiffe://${TD1}/workload`, { keyUsage: ['digitalSignature', 'keyCertSign'] })
    await rejects(verifyX509Svid(chain, bundle1), 'ERR_SVID_INVALID', /keyCertSign/)
  })
  it('leaf with cRLSign added', async () => {
    const { chain } = ca1.issue(`spiffe://${TD1}/workload`, { keyUsage: ['digitalSignature', 'cRLSign'] })
    await rejects(verifyX509Svid(chain, bundle1), 'ERR_SVID_INVALID', /cRLSign/)
  })
  it('at = leaf notAfter + 1 s: expired', async () => {
    const notAfter = new Date(Date.UTC(2027, 0, 1))
    const { chain } = ca1.issue(`spiffe://${TD1}/workload`, { notAfter })
    const e = await rejects(verifyX509Svid(chain, bundle1, { at: notAfter.getTime() + 1000 }), 'ERR_SVID_UNTRUSTED')
    expect(e.detail.reason).toBe('ERR_X509_EXPIRED')
    expect((await verifyX509Svid(chain, bundle1, { at: notAfter.getTime() - 1000 })).id.path).toBe('/workload')
  })
  it('ParseAndVerify with a corrupted first byte', async () => {
    const { chain } = ca1.issue(`spiffe://${TD1}/workload`)
    const bad = Uint8Array.from(chain[0]!)
    bad[0] = 0x27
    await rejects(verifyX509Svid([bad], bundle1), 'ERR_SVID_INVALID', /does not parse/)
  })
})

describe('test-CA SVIDs: RSA and P-256, with and without intermediates', () => {
  for (const rootKind of ['rsa', 'p256'] as const) {
    for (const leafKind of ['rsa', 'p256'] as const) {
      for (const depth of [0, 1, 2]) {
        it(`root ${rootKind}, leaf ${leafKind}, ${depth} intermediate(s)`, async () => {
          const root = TestCa.root('example.org', rootKind, 5)
          let ca = root
          for (let i = 0; i < depth; i++) ca = ca.childCa('example.org', i % 2 ? 'rsa' : 'p256', 6 + i)
          const { chain } = ca.issue('spiffe://example.org/ns/prod/sa/api', { key: testKey(leafKind, 4) })
          const bundles = new BundleSet([new SpiffeBundle('example.org', { x509Authorities: [auth(root)] })])
          const r = await verifyX509Svid(toPemChain(chain), bundles, { matcher: matchMemberOf('example.org') })
          expect(r.id.toString()).toBe('spiffe://example.org/ns/prod/sa/api')
          expect(r.verifiedChain.length).toBe(depth + 2)
          expect(r.certificates.length).toBe(depth + 1)
          // without the intermediates there is no path
          if (depth > 0) await rejects(verifyX509Svid([chain[0]!], bundles), 'ERR_SVID_UNTRUSTED')
        })
      }
    }
  }
})

describe('checklist A/B rules a verifier enforces (X509-SVID.md)', () => {
  it('A15/D1: anchors come only from the leaf trust domain bundle, never a mixed pool', async () => {
    // ca2 (of domain2) issues an SVID claiming domain1: the set has both CAs, but only domain1's is used
    const { chain } = ca2.issue(`spiffe://${TD1}/workload`)
    const set = new BundleSet([
      new SpiffeBundle(TD1, { x509Authorities: [auth(ca1)] }),
      new SpiffeBundle(TD2, { x509Authorities: [auth(ca2)] }),
    ])
    await rejects(verifyX509Svid(chain, set), 'ERR_SVID_UNTRUSTED')
    const good = ca2.issue(`spiffe://${TD2}/workload`).chain
    expect((await verifyX509Svid(good, set)).id.trustDomain.name).toBe(TD2)
  })
  it('B1: more than one URI SAN is refused even if only one is spiffe://', async () => {
    const { chain } = ca1.issue('', { uris: [`spiffe://${TD1}/w`, 'https://example.org/'] })
    await rejects(verifyX509Svid(chain, bundle1), 'ERR_SVID_INVALID', /2 uri sans/)
  })
  it('B2: other SAN types are allowed in any number', async () => {
    const { chain } = ca1.issue(`spiffe://${TD1}/w`, { dns: ['a.example', 'b.example'] })
    expect((await verifyX509Svid(chain, bundle1)).id.path).toBe('/w')
  })
  it('B3: a leaf with a root (path-less) ID is refused', async () => {
    const { chain } = ca1.issue(`spiffe://${TD1}`)
    await rejects(verifyX509Svid(chain, bundle1), 'ERR_SVID_INVALID', /has no path/)
  })
  it('B4: an empty subject requires a critical SAN', async () => {
    const bad = ca1.issue(`spiffe://${TD1}/w`, { subject: [] }).chain
    await rejects(verifyX509Svid(bad, bundle1), 'ERR_SVID_INVALID', /subject is empty/)
    const good = ca1.issue(`spiffe://${TD1}/w`, { subject: [], sanCritical: true }).chain
    expect((await verifyX509Svid(good, bundle1)).id.path).toBe('/w')
  })
  it('B5: an intermediate whose SPIFFE ID has a path, or another trust domain, is refused', async () => {
    const withPath = ca1.childCa(TD1, 'p256', 1, { uris: [`spiffe://${TD1}/ca`] })
    await rejects(verifyX509Svid(withPath.issue(`spiffe://${TD1}/w`).chain, bundle1), 'ERR_SVID_INVALID', /has a path/)
    const foreign = ca1.childCa(TD1, 'p256', 1, { uris: [`spiffe://${TD2}`] })
    await rejects(verifyX509Svid(foreign.issue(`spiffe://${TD1}/w`).chain, bundle1), 'ERR_SVID_INVALID', /trust domain "domain2.test"/)
  })
  it('B6/B7/B14: a CA certificate is never accepted as an SVID, even one in the bundle', async () => {
    await rejects(verifyX509Svid([ca1.cert.der], bundle1), 'ERR_SVID_INVALID', /has no path/)
    const caWithPath = TestCa.root(TD1, 'p256', 0, { uris: [`spiffe://${TD1}/ca`] })
    await rejects(verifyX509Svid([caWithPath.cert.der], new X509Bundle(TD1, [auth(caWithPath)])), 'ERR_SVID_INVALID', /cA true/)
  })
  it('B8: URI name constraints of a signing certificate bind the SVID ID', async () => {
    const constrained = ca1.childCa(TD1, 'p256', 1, { permittedUris: [TD1] })
    expect((await verifyX509Svid(constrained.issue(`spiffe://${TD1}/w`).chain, bundle1)).id.path).toBe('/w')
    const other = ca1.childCa(TD1, 'p256', 1, { permittedUris: ['elsewhere.test'] })
    await rejects(verifyX509Svid(other.issue(`spiffe://${TD1}/w`).chain, bundle1), 'ERR_SVID_UNTRUSTED')
  })
  it('B10: an intermediate without keyCertSign or without cA is refused', async () => {
    const noSign = ca1.childCa(TD1, 'p256', 1, { keyUsage: ['cRLSign', 'digitalSignature'] })
    await rejects(verifyX509Svid(noSign.issue(`spiffe://${TD1}/w`).chain, bundle1), 'ERR_SVID_UNTRUSTED')
    const noCa = ca1.childCa(TD1, 'p256', 1, { ca: false })
    await rejects(verifyX509Svid(noCa.issue(`spiffe://${TD1}/w`).chain, bundle1), 'ERR_SVID_UNTRUSTED')
  })
  it('B11: leaf keyUsage must be present with digitalSignature', async () => {
    const none = ca1.issue(`spiffe://${TD1}/w`, { keyUsage: undefined as never })
    const noKu = makeCertificate({
      key: testKey('p256', 2),
      issuer: { key: ca1.cert.key, name: ca1.cert.name, spki: ca1.cert.spki },
      ca: false,
      uris: [`spiffe://${TD1}/w`],
    })
    await rejects(verifyX509Svid([noKu.der], bundle1), 'ERR_SVID_INVALID', /lacks digitalSignature/)
    const onlyKe = ca1.issue(`spiffe://${TD1}/w`, { keyUsage: ['keyAgreement'] })
    await rejects(verifyX509Svid(onlyKe.chain, bundle1), 'ERR_SVID_INVALID', /lacks digitalSignature/)
    const withExtras = ca1.issue(`spiffe://${TD1}/w`, { keyUsage: ['digitalSignature', 'keyAgreement', 'keyEncipherment'] })
    expect((await verifyX509Svid(withExtras.chain, bundle1)).id.path).toBe('/w')
    expect(none.chain.length).toBe(1)
  })
  it('B13: path validation: bad signature, not yet valid, expired intermediate', async () => {
    const { chain } = ca1.issue(`spiffe://${TD1}/w`)
    const tampered = Uint8Array.from(chain[0]!)
    tampered[tampered.length - 5]! ^= 1
    await rejects(verifyX509Svid([tampered], bundle1), 'ERR_SVID_UNTRUSTED')
    const future = ca1.issue(`spiffe://${TD1}/w`, { notBefore: new Date(Date.now() + 3600_000) }).chain
    expect((await rejects(verifyX509Svid(future, bundle1), 'ERR_SVID_UNTRUSTED')).detail.reason).toBe('ERR_X509_NOT_YET_VALID')
    const oldCa = ca1.childCa(TD1, 'p256', 1, { notAfter: new Date(Date.now() - 1000) })
    expect((await rejects(verifyX509Svid(oldCa.issue(`spiffe://${TD1}/w`).chain, bundle1), 'ERR_SVID_UNTRUSTED')).detail.reason).toBe(
      'ERR_X509_EXPIRED',
    )
  })
  it('matchers: exact id, one of, member of', async () => {
    const { chain } = ca1.issue(`spiffe://${TD1}/w`)
    await rejects(verifyX509Svid(chain, bundle1, { matcher: matchId(`spiffe://${TD1}/x`) }), 'ERR_SVID_ID_NOT_ALLOWED')
    await rejects(verifyX509Svid(chain, bundle1, { matcher: matchOneOf() }), 'ERR_SVID_ID_NOT_ALLOWED')
    await rejects(verifyX509Svid(chain, bundle1, { matcher: matchMemberOf(TD2) }), 'ERR_SVID_ID_NOT_ALLOWED')
    expect((await verifyX509Svid(chain, bundle1, { matcher: matchOneOf(`spiffe://${TD1}/x`, `spiffe://${TD1}/w`) })).id.path).toBe('/w')
  })
  it('a bundle source is only asked for the leaf trust domain', async () => {
    const asked: string[] = []
    const src: X509BundleSource = { getX509Bundle: (td) => (asked.push(td.name), bundle1.getX509Bundle(td)) }
    await verifyX509Svid(ca1.issue(`spiffe://${TD1}/w`).chain, src)
    expect(asked).toEqual([TD1])
  })
})
