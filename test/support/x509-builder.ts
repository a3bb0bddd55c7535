/**
 * A small test-only X.509 certificate builder: DER written by hand with core/der/writer.ts,
 * signatures by node:crypto (ECDSA P-256 / SHA-256 by default, RSA on request). For unit tests of
 * path validation: every field a test needs to break can be set.
 */
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { concatBytes } from '../../core/bytes/equal.ts'
import { OID } from '../../core/der/oid.ts'
import { contextTag, TAG } from '../../core/der/reader.ts'
import { DER_NULL, encodeBitString, encodeOidTlv, encodeSequence, encodeTlv, encodeUnsignedInteger } from '../../core/der/writer.ts'

export interface TestKey {
  privateKey: KeyObject
  publicKey: KeyObject
  spki: Uint8Array
  kind: 'ec' | 'rsa'
}

export function makeKey(kind: 'ec' | 'rsa' = 'ec'): TestKey {
  const kp = kind === 'ec' ? generateKeyPairSync('ec', { namedCurve: 'P-256' }) : generateKeyPairSync('rsa', { modulusLength: 2048 })
  return { ...kp, spki: new Uint8Array(kp.publicKey.export({ type: 'spki', format: 'der' })), kind }
}

/** RDNs as [[oid, value], ...] (one attribute per RDN), UTF8String values. */
export type NameSpec = readonly (readonly [string, string])[]

export function encodeName(name: NameSpec): Uint8Array {
  return encodeSequence(
    ...name.map(([oid, value]) =>
      encodeTlv(TAG.SET, encodeSequence(encodeOidTlv(oid), encodeTlv(TAG.UTF8_STRING, new TextEncoder().encode(value)))),
    ),
  )
}

export const cn = (value: string): NameSpec => [[OID.commonName, value]]

function encodeTime(ms: number): Uint8Array {
  const d = new Date(ms)
  const y = d.getUTCFullYear()
  const p = (n: number) => String(n).padStart(2, '0')
  const body = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`
  if (y >= 1950 && y < 2050) return encodeTlv(TAG.UTC_TIME, new TextEncoder().encode(p(y % 100) + body))
  return encodeTlv(TAG.GENERALIZED_TIME, new TextEncoder().encode(String(y) + body))
}

export interface ExtensionSpec {
  oid: string
  critical?: boolean
  /** the extnValue contents (DER of the extension value) */
  value: Uint8Array
}

export function ext(oid: string, value: Uint8Array, critical = false): ExtensionSpec {
  return { oid, value, critical }
}

export const basicConstraints = (cA: boolean, pathLen?: number): ExtensionSpec =>
  ext(
    OID.basicConstraints,
    encodeSequence(
      ...(cA ? [Uint8Array.of(0x01, 0x01, 0xff)] : []),
      ...(pathLen !== undefined ? [encodeUnsignedInteger(Uint8Array.of(pathLen))] : []),
    ),
    true,
  )

/** keyUsage from bit numbers (0 digitalSignature ... 5 keyCertSign, 6 cRLSign), DER-trimmed. */
export function keyUsage(bits: number[]): ExtensionSpec {
  const max = Math.max(...bits)
  const bytes = new Uint8Array(Math.floor(max / 8) + 1)
  for (const b of bits) bytes[b >> 3]! |= 0x80 >> (b & 7)
  const unused = 7 - (max & 7)
  return ext(OID.keyUsage, encodeBitString(bytes, unused), true)
}

export const dnsSan = (...names: string[]): ExtensionSpec =>
  ext(OID.subjectAltName, encodeSequence(...names.map((n) => encodeTlv(contextTag(2, false), new TextEncoder().encode(n)))))

export const ski = (id: Uint8Array): ExtensionSpec => ext(OID.subjectKeyIdentifier, encodeTlv(TAG.OCTET_STRING, id))
export const aki = (id: Uint8Array): ExtensionSpec => ext(OID.authorityKeyIdentifier, encodeSequence(encodeTlv(contextTag(0, false), id)))

/** nameConstraints with permitted / excluded dNSName subtrees. */
export function dnsNameConstraints(permitted: string[], excluded: string[] = []): ExtensionSpec {
  const subtrees = (names: string[]) => names.map((n) => encodeSequence(encodeTlv(contextTag(2, false), new TextEncoder().encode(n))))
  return ext(
    OID.nameConstraints,
    encodeSequence(
      ...(permitted.length ? [encodeTlv(contextTag(0, true), concatBytes(...subtrees(permitted)))] : []),
      ...(excluded.length ? [encodeTlv(contextTag(1, true), concatBytes(...subtrees(excluded)))] : []),
    ),
    true,
  )
}

export interface CertSpec {
  subject: NameSpec
  key: TestKey
  /** issuer name and signing key; default self-signed */
  issuer?: { subject: NameSpec; key: TestKey }
  serial?: number
  notBefore?: number
  notAfter?: number
  extensions?: ExtensionSpec[]
  /** add SKI (own key) and AKI (issuer key); default true */
  keyIds?: boolean
  /** corrupt the signature (flip a bit) */
  badSignature?: boolean
  /** sign with SHA-1 (ecdsa-with-SHA1 / sha1WithRSAEncryption) instead of SHA-256 */
  sha1?: boolean
}

const DAY = 86_400_000
export const T0 = Date.UTC(2030, 0, 1)

function keyId(spki: Uint8Array): Uint8Array {
  let h = 0x811c9dc5
  for (const b of spki) h = Math.imul(h ^ b, 0x01000193) >>> 0
  const out = new Uint8Array(20)
  for (let i = 0; i < 20; i++) out[i] = ((h >>> ((i % 4) * 8)) & 0xff) ^ spki[spki.length - 1 - i]!
  return out
}

/** A DER certificate per `spec` (v3, serial 1.., validity T0-1y .. T0+1y by default). */
export function buildCert(spec: CertSpec): Uint8Array {
  const issuer = spec.issuer ?? { subject: spec.subject, key: spec.key }
  const sigAlg =
    issuer.key.kind === 'ec'
      ? encodeSequence(encodeOidTlv(spec.sha1 ? OID.ecdsaWithSHA1 : OID.ecdsaWithSHA256))
      : encodeSequence(encodeOidTlv(spec.sha1 ? OID.sha1WithRSAEncryption : OID.sha256WithRSAEncryption), DER_NULL)
  const exts = [...(spec.extensions ?? [])]
  if (spec.keyIds ?? true) {
    exts.push(ski(keyId(spec.key.spki)))
    if (spec.issuer) exts.push(aki(keyId(issuer.key.spki)))
  }
  const encodedExts = exts.map((e) =>
    encodeSequence(encodeOidTlv(e.oid), ...(e.critical ? [Uint8Array.of(0x01, 0x01, 0xff)] : []), encodeTlv(TAG.OCTET_STRING, e.value)),
  )
  const tbs = encodeSequence(
    encodeTlv(contextTag(0, true), encodeUnsignedInteger(Uint8Array.of(2))),
    encodeUnsignedInteger(Uint8Array.of((spec.serial ?? 1) >> 8, (spec.serial ?? 1) & 0xff)),
    sigAlg,
    encodeName(issuer.subject),
    encodeSequence(encodeTime(spec.notBefore ?? T0 - 365 * DAY), encodeTime(spec.notAfter ?? T0 + 365 * DAY)),
    encodeName(spec.subject),
    spec.key.spki,
    ...(encodedExts.length ? [encodeTlv(contextTag(3, true), encodeSequence(...encodedExts))] : []),
  )
  const sig = new Uint8Array(
    sign(
      spec.sha1 ? 'sha1' : 'sha256',
      tbs,
      issuer.key.kind === 'ec' ? { key: issuer.key.privateKey, dsaEncoding: 'der' } : issuer.key.privateKey,
    ),
  )
  if (spec.badSignature) sig[sig.length - 1]! ^= 0x01
  return encodeSequence(tbs, sigAlg, encodeBitString(sig))
}

/** A CA: basicConstraints cA (pathLen), keyUsage keyCertSign+cRLSign. */
export function caExtensions(pathLen?: number): ExtensionSpec[] {
  return [basicConstraints(true, pathLen), keyUsage([5, 6])]
}
