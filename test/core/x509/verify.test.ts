import { describe, expect, it } from 'vitest'
import { OID } from '../../../core/der/oid.ts'
import { encodeOidTlv, encodeSequence } from '../../../core/der/writer.ts'
import { X509Error } from '../../../core/errors.ts'
import { parseCertificate } from '../../../core/x509/certificate.ts'
import { verifyChain } from '../../../core/x509/verify.ts'
import {
  basicConstraints,
  buildCert,
  caExtensions,
  cn,
  dnsNameConstraints,
  dnsSan,
  ext,
  keyUsage,
  makeKey,
  ski,
  T0,
} from '../../support/x509-builder.ts'

const DAY = 86_400_000
const rootKey = makeKey()
const midKey = makeKey()
const leafKey = makeKey()
const root = buildCert({ subject: cn('Root'), key: rootKey, extensions: caExtensions() })
const mid = buildCert({ subject: cn('Mid'), key: midKey, issuer: { subject: cn('Root'), key: rootKey }, extensions: caExtensions() })
const leaf = buildCert({
  subject: cn('Leaf'),
  key: leafKey,
  issuer: { subject: cn('Mid'), key: midKey },
  extensions: [dnsSan('leaf.example.com')],
})

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'ok'
  } catch (e) {
    if (e instanceof X509Error) return e.code
    throw e
  }
}

describe('verifyChain', () => {
  it('builds leaf -> intermediate -> anchor', async () => {
    const r = await verifyChain({ leaf, intermediates: [mid], anchors: [root], at: T0 })
    expect(r.path.map((c) => c.subject.rdns[0]![0]!.value)).toEqual(['Leaf', 'Mid', 'Root'])
    expect(r.anchor.raw).toEqual(parseCertificate(root).raw)
  })

  it('accepts parsed certificates and a Date', async () => {
    const r = await verifyChain({
      leaf: parseCertificate(leaf),
      intermediates: [parseCertificate(mid)],
      anchors: [parseCertificate(root)],
      at: new Date(T0),
    })
    expect(r.path).toHaveLength(3)
  })

  it('uses platform.now() when at is absent', async () => {
    const { withPlatform } = await import('../../../core/platform.ts')
    const platform = withPlatform({ now: () => T0 + 400 * DAY })
    expect(await code(verifyChain({ leaf, intermediates: [mid], anchors: [root] }, { platform }))).toBe('ERR_X509_EXPIRED')
    expect(await code(verifyChain({ leaf, intermediates: [mid], anchors: [root] }, { platform: withPlatform({ now: () => T0 }) }))).toBe(
      'ok',
    )
  })

  it('validity bounds are inclusive', async () => {
    const nb = T0 - 10 * DAY
    const na = T0 + 10 * DAY
    const l = buildCert({ subject: cn('L'), key: leafKey, issuer: { subject: cn('Root'), key: rootKey }, notBefore: nb, notAfter: na })
    expect(await code(verifyChain({ leaf: l, anchors: [root], at: nb }))).toBe('ok')
    expect(await code(verifyChain({ leaf: l, anchors: [root], at: na }))).toBe('ok')
    expect(await code(verifyChain({ leaf: l, anchors: [root], at: nb - 1000 }))).toBe('ERR_X509_NOT_YET_VALID')
    expect(await code(verifyChain({ leaf: l, anchors: [root], at: na + 1000 }))).toBe('ERR_X509_EXPIRED')
  })

  it('names the certificate in the error', async () => {
    const m = buildCert({
      subject: cn('Mid'),
      key: midKey,
      issuer: { subject: cn('Root'), key: rootKey },
      extensions: caExtensions(),
      notAfter: T0 - DAY,
    })
    await expect(verifyChain({ leaf, intermediates: [m], anchors: [root], at: T0 })).rejects.toThrow(/depth 1 \(CN=Mid\) expired/)
  })

  it('rejects an intermediate that is not a CA', async () => {
    const m = buildCert({
      subject: cn('Mid'),
      key: midKey,
      issuer: { subject: cn('Root'), key: rootKey },
      extensions: [basicConstraints(false)],
    })
    expect(await code(verifyChain({ leaf, intermediates: [m], anchors: [root], at: T0 }))).toBe('ERR_X509_CONSTRAINT_VIOLATED')
    const none = buildCert({ subject: cn('Mid'), key: midKey, issuer: { subject: cn('Root'), key: rootKey } })
    expect(await code(verifyChain({ leaf, intermediates: [none], anchors: [root], at: T0 }))).toBe('ERR_X509_CONSTRAINT_VIOLATED')
  })

  it('rejects a CA without keyCertSign', async () => {
    const m = buildCert({
      subject: cn('Mid'),
      key: midKey,
      issuer: { subject: cn('Root'), key: rootKey },
      extensions: [basicConstraints(true), keyUsage([0, 6])],
    })
    await expect(verifyChain({ leaf, intermediates: [m], anchors: [root], at: T0 })).rejects.toThrow(/keyCertSign/)
  })

  it('enforces pathLenConstraint (self-issued intermediates not counted)', async () => {
    const r0 = buildCert({ subject: cn('Root'), key: rootKey, extensions: caExtensions(0) })
    expect(await code(verifyChain({ leaf, intermediates: [mid], anchors: [r0], at: T0 }))).toBe('ERR_X509_CONSTRAINT_VIOLATED')
    const r1 = buildCert({ subject: cn('Root'), key: rootKey, extensions: caExtensions(1) })
    expect(await code(verifyChain({ leaf, intermediates: [mid], anchors: [r1], at: T0 }))).toBe('ok')
    // Mid' (pathLen 0) -> Mid2 -> leaf: Mid2 is one intermediate too many below Mid'
    const mid0 = buildCert({ subject: cn('Mid'), key: midKey, issuer: { subject: cn('Root'), key: rootKey }, extensions: caExtensions(0) })
    const k2 = makeKey()
    const mid2 = buildCert({ subject: cn('Mid2'), key: k2, issuer: { subject: cn('Mid'), key: midKey }, extensions: caExtensions() })
    const leaf2 = buildCert({ subject: cn('Leaf'), key: leafKey, issuer: { subject: cn('Mid2'), key: k2 } })
    await expect(verifyChain({ leaf: leaf2, intermediates: [mid0, mid2], anchors: [root], at: T0 })).rejects.toThrow(
      /depth 1 \(CN=Mid2\) exceeds the pathLenConstraint/,
    )
    // a self-issued rollover certificate Mid(new key) signed by Mid(old key) does not count
    const midNew = makeKey()
    const rollover = buildCert({ subject: cn('Mid'), key: midNew, issuer: { subject: cn('Mid'), key: midKey }, extensions: caExtensions() })
    const leaf3 = buildCert({ subject: cn('Leaf'), key: leafKey, issuer: { subject: cn('Mid'), key: midNew } })
    const r = await verifyChain({ leaf: leaf3, intermediates: [mid0, rollover], anchors: [root], at: T0 })
    expect(r.path).toHaveLength(4)
  })

  it('rejects an unknown critical extension and accepts it non-critical', async () => {
    const crit = buildCert({
      subject: cn('Leaf'),
      key: leafKey,
      issuer: { subject: cn('Mid'), key: midKey },
      extensions: [ext('1.2.3.4.5', Uint8Array.of(5, 0), true)],
    })
    await expect(verifyChain({ leaf: crit, intermediates: [mid], anchors: [root], at: T0 })).rejects.toMatchObject({
      code: 'ERR_X509_UNKNOWN_CRITICAL_EXTENSION',
    })
    const soft = buildCert({
      subject: cn('Leaf'),
      key: leafKey,
      issuer: { subject: cn('Mid'), key: midKey },
      extensions: [ext('1.2.3.4.5', Uint8Array.of(5, 0), false)],
    })
    expect(await code(verifyChain({ leaf: soft, intermediates: [mid], anchors: [root], at: T0 }))).toBe('ok')
  })

  it('rejects a wrong signature and a wrong issuer key', async () => {
    const bad = buildCert({ subject: cn('Leaf'), key: leafKey, issuer: { subject: cn('Mid'), key: midKey }, badSignature: true })
    expect(await code(verifyChain({ leaf: bad, intermediates: [mid], anchors: [root], at: T0 }))).toBe('ERR_X509_SIGNATURE_INVALID')
    const other = buildCert({ subject: cn('Leaf'), key: leafKey, issuer: { subject: cn('Mid'), key: makeKey() } })
    expect(await code(verifyChain({ leaf: other, intermediates: [mid], anchors: [root], at: T0 }))).toBe('ERR_X509_SIGNATURE_INVALID')
  })

  it('verifies RSA-signed chains', async () => {
    const rsaRoot = makeKey('rsa')
    const r = buildCert({ subject: cn('RSA Root'), key: rsaRoot, extensions: caExtensions() })
    const l = buildCert({ subject: cn('Leaf'), key: leafKey, issuer: { subject: cn('RSA Root'), key: rsaRoot } })
    expect(await code(verifyChain({ leaf: l, anchors: [r], at: T0 }))).toBe('ok')
    const b = buildCert({ subject: cn('Leaf'), key: leafKey, issuer: { subject: cn('RSA Root'), key: rsaRoot }, badSignature: true })
    expect(await code(verifyChain({ leaf: b, anchors: [r], at: T0 }))).toBe('ERR_X509_SIGNATURE_INVALID')
  })

  it('reports NO_PATH without an issuer and terminates on a loop', async () => {
    expect(await code(verifyChain({ leaf, intermediates: [], anchors: [root], at: T0 }))).toBe('ERR_X509_NO_PATH')
    // A and B sign each other; neither reaches the anchor
    const ka = makeKey()
    const kb = makeKey()
    const a = buildCert({ subject: cn('A'), key: ka, issuer: { subject: cn('B'), key: kb }, extensions: caExtensions() })
    const b = buildCert({ subject: cn('B'), key: kb, issuer: { subject: cn('A'), key: ka }, extensions: caExtensions() })
    const l = buildCert({ subject: cn('Leaf'), key: leafKey, issuer: { subject: cn('A'), key: ka } })
    expect(await code(verifyChain({ leaf: l, intermediates: [a, b], anchors: [root], at: T0, maxDepth: 100 }))).toBe('ERR_X509_NO_PATH')
  })

  it('bounds the depth', async () => {
    // Root -> C1 -> C2 -> C3 -> leaf
    const keys = [rootKey, makeKey(), makeKey(), makeKey()]
    const names = ['Root', 'C1', 'C2', 'C3']
    const inter = [1, 2, 3].map((i) =>
      buildCert({
        subject: cn(names[i]!),
        key: keys[i]!,
        issuer: { subject: cn(names[i - 1]!), key: keys[i - 1]! },
        extensions: caExtensions(),
      }),
    )
    const l = buildCert({ subject: cn('Leaf'), key: leafKey, issuer: { subject: cn('C3'), key: keys[3]! } })
    expect(await code(verifyChain({ leaf: l, intermediates: inter, anchors: [root], at: T0, maxDepth: 3 }))).toBe('ok')
    expect(await code(verifyChain({ leaf: l, intermediates: inter, anchors: [root], at: T0, maxDepth: 2 }))).toBe('ERR_X509_NO_PATH')
  })

  it('backtracks over a bad candidate issuer', async () => {
    // two "Mid" certificates: an expired one first, then a good one
    const expiredMid = buildCert({
      subject: cn('Mid'),
      key: midKey,
      issuer: { subject: cn('Root'), key: rootKey },
      extensions: caExtensions(),
      notAfter: T0 - DAY,
      serial: 7,
    })
    const r = await verifyChain({ leaf, intermediates: [expiredMid, mid], anchors: [root], at: T0 })
    expect(r.path[1]!.raw).toEqual(parseCertificate(mid).raw)
  })

  it('trusts anchors as given (no self-signature check) and a leaf that is itself an anchor', async () => {
    const foreign = buildCert({
      subject: cn('Root'),
      key: rootKey,
      issuer: { subject: cn('Elsewhere'), key: makeKey() },
      extensions: caExtensions(),
    })
    expect(await code(verifyChain({ leaf, intermediates: [mid], anchors: [foreign], at: T0 }))).toBe('ok')
    const r = await verifyChain({ leaf: root, anchors: [root], at: T0 })
    expect(r.path).toHaveLength(1)
  })

  it('enforces dNSName name constraints', async () => {
    const ncRoot = buildCert({
      subject: cn('Root'),
      key: rootKey,
      extensions: [...caExtensions(), dnsNameConstraints(['example.com'], ['bad.example.com'])],
    })
    const mk = (name: string) =>
      buildCert({ subject: cn('Leaf'), key: leafKey, issuer: { subject: cn('Root'), key: rootKey }, extensions: [dnsSan(name)] })
    expect(await code(verifyChain({ leaf: mk('a.example.com'), anchors: [ncRoot], at: T0 }))).toBe('ok')
    expect(await code(verifyChain({ leaf: mk('example.org'), anchors: [ncRoot], at: T0 }))).toBe('ERR_X509_CONSTRAINT_VIOLATED')
    expect(await code(verifyChain({ leaf: mk('x.bad.example.com'), anchors: [ncRoot], at: T0 }))).toBe('ERR_X509_CONSTRAINT_VIOLATED')
  })

  it('compares validity at whole seconds: notAfter covers its last second (limbo notafter-fractional)', async () => {
    const na = T0 + 10 * DAY
    const l = buildCert({ subject: cn('L'), key: leafKey, issuer: { subject: cn('Root'), key: rootKey }, notAfter: na })
    expect(await code(verifyChain({ leaf: l, anchors: [root], at: na + 5 }))).toBe('ok')
    expect(await code(verifyChain({ leaf: l, anchors: [root], at: na + 999 }))).toBe('ok')
    expect(await code(verifyChain({ leaf: l, anchors: [root], at: na + 1000 }))).toBe('ERR_X509_EXPIRED')
  })

  it('needs no authorityKeyIdentifier on the trust anchor, but on every certificate below it', async () => {
    const crossSigned = (keyIds: boolean) =>
      buildCert({
        subject: cn('Root'),
        key: rootKey,
        issuer: { subject: cn('Other Root'), key: makeKey() },
        extensions: [...caExtensions(), ...(keyIds ? [] : [ski(Uint8Array.of(1, 2, 3))])],
        keyIds,
      })
    const l = buildCert({ subject: cn('L'), key: leafKey, issuer: { subject: cn('Root'), key: rootKey } })
    expect(await code(verifyChain({ leaf: l, anchors: [crossSigned(false)], at: T0 }))).toBe('ok')
    const noAki = buildCert({ subject: cn('L'), key: leafKey, issuer: { subject: cn('Root'), key: rootKey }, keyIds: false })
    expect(await code(verifyChain({ leaf: noAki, anchors: [crossSigned(true)], at: T0 }))).toBe('ERR_X509_MALFORMED')
  })

  it('rejects a non-critical policyConstraints (RFC 5280 §4.2.1.11)', async () => {
    // PolicyConstraints ::= SEQUENCE { requireExplicitPolicy [0] 0 }
    const pc = (critical: boolean) => ext(OID.policyConstraints, Uint8Array.of(0x30, 0x03, 0x80, 0x01, 0x00), critical)
    const m = (critical: boolean) =>
      buildCert({
        subject: cn('Mid'),
        key: midKey,
        issuer: { subject: cn('Root'), key: rootKey },
        extensions: [...caExtensions(), pc(critical)],
      })
    const e = await verifyChain({ leaf, intermediates: [m(false)], anchors: [root], at: T0 }).catch((x: unknown) => x)
    expect(e).toBeInstanceOf(X509Error)
    expect((e as X509Error).code).toBe('ERR_X509_MALFORMED')
    expect((e as X509Error).message).toMatch(/depth 1 \(CN=Mid\) marks policyConstraints non-critical/)
  })

  it('rejects a subjectAltName dNSName outside the preferred name syntax (limbo san::underscore-dns)', async () => {
    const mk = (name: string) =>
      buildCert({ subject: cn('Leaf'), key: leafKey, issuer: { subject: cn('Root'), key: rootKey }, extensions: [dnsSan(name)] })
    expect(await code(verifyChain({ leaf: mk('foo-bar.example.com'), anchors: [root], at: T0 }))).toBe('ok')
    expect(await code(verifyChain({ leaf: mk('*.example.com'), anchors: [root], at: T0 }))).toBe('ok')
    expect(await code(verifyChain({ leaf: mk('foo_bar.example.com'), anchors: [root], at: T0 }))).toBe('ERR_X509_MALFORMED')
    expect(await code(verifyChain({ leaf: mk('a.*.example.com'), anchors: [root], at: T0 }))).toBe('ERR_X509_MALFORMED')
  })

  it('rejects a dNSName name constraint with a leading period (limbo nc::invalid-dnsname-leading-period)', async () => {
    const ncRoot = buildCert({ subject: cn('Root'), key: rootKey, extensions: [...caExtensions(), dnsNameConstraints(['.example.com'])] })
    const l = buildCert({
      subject: cn('Leaf'),
      key: leafKey,
      issuer: { subject: cn('Root'), key: rootKey },
      extensions: [dnsSan('a.example.com')],
    })
    const e = await verifyChain({ leaf: l, anchors: [ncRoot], at: T0 }).catch((x: unknown) => x)
    expect((e as X509Error).code).toBe('ERR_X509_MALFORMED')
    expect((e as X509Error).message).toMatch(/dNSName name constraint "\.example\.com" that is not a DNS name/)
  })

  it('rejects a wildcard SAN that stands for an excluded name (CVE-2025-61727)', async () => {
    const ncMid = buildCert({
      subject: cn('Mid'),
      key: midKey,
      issuer: { subject: cn('Root'), key: rootKey },
      extensions: [...caExtensions(), dnsNameConstraints([], ['bar.example.com'])],
    })
    const mk = (name: string) =>
      buildCert({ subject: cn('Leaf'), key: leafKey, issuer: { subject: cn('Mid'), key: midKey }, extensions: [dnsSan(name)] })
    expect(await code(verifyChain({ leaf: mk('foo.example.com'), intermediates: [ncMid], anchors: [root], at: T0 }))).toBe('ok')
    expect(await code(verifyChain({ leaf: mk('*.example.com'), intermediates: [ncMid], anchors: [root], at: T0 }))).toBe(
      'ERR_X509_CONSTRAINT_VIOLATED',
    )
  })

  it('bounds name-constraint work per path (names times subtrees, limbo nc-dos-*)', async () => {
    const names = (k: number, p: string) => Array.from({ length: k }, (_, i) => `${p}${i}.example.com`)
    const ncRoot = (subtrees: number) =>
      buildCert({
        subject: cn('Root'),
        key: rootKey,
        extensions: [...caExtensions(), dnsNameConstraints(['example.com'], names(subtrees - 1, 'x'))],
      })
    const mk = (k: number) =>
      buildCert({
        subject: cn('Leaf'),
        key: leafKey,
        issuer: { subject: cn('Root'), key: rootKey },
        extensions: [dnsSan(...names(k, 'n'))],
      })
    // the subject DN is a constrained name too: (1 + 511) names * 512 subtrees = 2^18, the bound
    expect(await code(verifyChain({ leaf: mk(511), anchors: [ncRoot(512)], at: T0 }))).toBe('ok')
    const e = await verifyChain({ leaf: mk(512), anchors: [ncRoot(512)], at: T0 }).catch((x: unknown) => x)
    expect((e as X509Error).code).toBe('ERR_X509_CONSTRAINT_VIOLATED')
    expect((e as X509Error).message).toMatch(/513 names against the 512 name constraints .* exceeds the bound of 262144 checks/)
  })

  it('refuses SHA-1 certificate signatures and backtracks to a SHA-256 issuer (BetterTLS DEPRECATED_CRYPTO)', async () => {
    const sha1Leaf = buildCert({ subject: cn('Leaf'), key: leafKey, issuer: { subject: cn('Mid'), key: midKey }, sha1: true })
    const e = await verifyChain({ leaf: sha1Leaf, intermediates: [mid], anchors: [root], at: T0 }).catch((x: unknown) => x)
    expect((e as X509Error).code).toBe('ERR_X509_UNSUPPORTED_ALGORITHM')
    expect((e as X509Error).message).toMatch(/depth 0 \(CN=Leaf\) is signed with SHA-1/)
    // two issuers named Mid with the same key: the SHA-1-signed one is passed over
    const sha1Mid = buildCert({
      subject: cn('Mid'),
      key: midKey,
      issuer: { subject: cn('Root'), key: rootKey },
      extensions: caExtensions(),
      sha1: true,
    })
    const r = await verifyChain({ leaf, intermediates: [sha1Mid, mid], anchors: [root], at: T0 })
    expect(r.path[1]!.raw).toEqual(parseCertificate(mid).raw)
    expect(await code(verifyChain({ leaf, intermediates: [sha1Mid], anchors: [root], at: T0 }))).toBe('ERR_X509_UNSUPPORTED_ALGORITHM')
  })

  it('extKeyUsage: every certificate with an EKU must allow the purpose; paths that do not are passed over', async () => {
    const emailProtection = '1.3.6.1.5.5.7.3.4'
    const eku = (...oids: string[]) => ext(OID.extKeyUsage, encodeSequence(...oids.map((o) => encodeOidTlv(o))))
    const emailMid = buildCert({
      subject: cn('Mid'),
      key: midKey,
      issuer: { subject: cn('Root'), key: rootKey },
      extensions: [...caExtensions(), eku(emailProtection)],
    })
    const serverMid = buildCert({
      subject: cn('Mid'),
      key: midKey,
      issuer: { subject: cn('Root'), key: rootKey },
      extensions: [...caExtensions(), eku(OID.serverAuth)],
    })
    // without a purpose any EKU goes (SPIRE's ExtKeyUsageAny)
    expect(await code(verifyChain({ leaf, intermediates: [emailMid], anchors: [root], at: T0 }))).toBe('ok')
    const e = await verifyChain({ leaf, intermediates: [emailMid], anchors: [root], at: T0, extKeyUsage: OID.serverAuth }).catch(
      (x: unknown) => x,
    )
    expect((e as X509Error).code).toBe('ERR_X509_CONSTRAINT_VIOLATED')
    expect((e as X509Error).message).toMatch(/depth 1 \(CN=Mid\) has an extKeyUsage that does not allow 1\.3\.6\.1\.5\.5\.7\.3\.1/)
    const r = await verifyChain({ leaf, intermediates: [emailMid, serverMid], anchors: [root], at: T0, extKeyUsage: OID.serverAuth })
    expect(r.path[1]!.raw).toEqual(parseCertificate(serverMid).raw)
    expect(await code(verifyChain({ leaf, intermediates: [emailMid], anchors: [root], at: T0, extKeyUsage: emailProtection }))).toBe('ok')
  })

  it("skips re-verifying a cached CA signature, never the leaf's", async () => {
    const store = new Map<string, unknown>()
    const cache = { get: (k: string) => store.get(k), set: (k: string, v: unknown) => void store.set(k, v) }
    await verifyChain({ leaf, intermediates: [mid], anchors: [root], at: T0 }, { cache })
    expect(store.size).toBe(1)
    const { defaultPlatform, withPlatform } = await import('../../../core/platform.ts')
    let verifies = 0
    const base = defaultPlatform()
    const counting = withPlatform({
      crypto: { ...base.crypto, verify: (...a: Parameters<typeof base.crypto.verify>) => (verifies++, base.crypto.verify(...a)) },
    })
    await verifyChain({ leaf, intermediates: [mid], anchors: [root], at: T0 }, { cache, platform: counting })
    expect(verifies).toBe(1)
    await verifyChain({ leaf, intermediates: [mid], anchors: [root], at: T0 }, { platform: counting })
    expect(verifies).toBe(3)
  })

  it('does not constrain extKeyUsage (any EKU, as SPIRE verifies with ExtKeyUsageAny)', async () => {
    const l = buildCert({
      subject: cn('Leaf'),
      key: leafKey,
      issuer: { subject: cn('Mid'), key: midKey },
      extensions: [ext(OID.extKeyUsage, Uint8Array.of(0x30, 0x05, 0x06, 0x03, 0x2a, 0x03, 0x04))],
    })
    expect(await code(verifyChain({ leaf: l, intermediates: [mid], anchors: [root], at: T0 }))).toBe('ok')
  })
})
