/**
 * An X.509 v3 certificate builder (RFC 5280 §4.1): tbsCertificate from a template, signed with a
 * Web Crypto private key the caller passes in. Used for SVID issuance (server CA), DevID
 * provisioning and test CAs. Emits DER that vouch's own strict parser accepts:
 * minimal INTEGERs, DEFAULT cA FALSE omitted, SET OF sorted, UTCTime up to 2049.
 *
 * Signatures: RSASSA-PKCS1-v1_5 (SHA-256/384/512, NULL parameters, RFC 4055 §5) and ECDSA
 * (P-256/SHA-256, P-384/SHA-384, P-521/SHA-512; parameters absent, RFC 5758 §3.2).
 */
import { utf8 } from '../bytes/encoding.ts'
import { ecdsaP1363ToDer } from '../crypto/ecdsa-signature.ts'
import type { HashAlg, PublicKey } from '../crypto/provider.ts'
import { OID } from '../der/oid.ts'
import { contextTag, DerReader, parseDerElement, TAG } from '../der/reader.ts'
import { decodeBitString } from '../der/values.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import {
  DER_NULL,
  encodeBitString,
  encodeBoolean,
  encodeExplicit,
  encodeImplicitPrimitive,
  encodeName,
  encodeOctetString,
  encodeOidTlv,
  encodeSequence,
  encodeSmallInteger,
  encodeTime,
  encodeTlv,
  encodeUnsignedInteger,
  type NameInput,
} from './der-encode.ts'
import { KEY_USAGE } from './extensions.ts'
import { parseIpAddress } from './ip-address.ts'
import { encodeSubjectPublicKeyInfo } from './spki.ts'

export type { NameInput, NameAttributeInput } from './der-encode.ts'

export type KeyUsageName = keyof typeof KEY_USAGE

export interface SubjectAltNameInput {
  readonly uris?: readonly string[]
  readonly dnsNames?: readonly string[]
  readonly directoryNames?: readonly NameInput[]
  /** IPv4 dotted quads (4 octets) or IPv6 addresses (16 octets; ip-address.ts) */
  readonly ipAddresses?: readonly string[]
}

/** An extension encoded by the caller (extnValue contents, i.e. the DER inside the OCTET STRING). */
export interface RawExtension {
  readonly oid: string
  readonly critical?: boolean
  readonly value: Uint8Array
}

export interface CertificateTemplate {
  /** serialNumber magnitude (big-endian, positive); default: 16 random bytes (RFC 5280 §4.1.2.2: <= 20 octets) */
  readonly serialNumber?: Uint8Array
  readonly subject: NameInput
  /** default: the subject (self-issued); a Uint8Array is the issuer's DER Name (its subject, verbatim) */
  readonly issuer?: NameInput | Uint8Array
  /** ms since the epoch, or a Date */
  readonly notBefore: number | Date
  readonly notAfter: number | Date
  /** the subject key: SubjectPublicKeyInfo DER or a runtime-neutral PublicKey */
  readonly publicKey: Uint8Array | PublicKey
  /** basicConstraints, always critical when present (RFC 5280 §4.2.1.9 for CAs) */
  readonly basicConstraints?: { readonly cA: boolean; readonly pathLenConstraint?: number }
  /** keyUsage, always critical (RFC 5280 §4.2.1.3 SHOULD) */
  readonly keyUsage?: readonly KeyUsageName[]
  /** extKeyUsage as dotted OIDs or 'serverAuth' / 'clientAuth' */
  readonly extKeyUsage?: readonly string[]
  readonly subjectAltName?: SubjectAltNameInput
  /** critical SAN (RFC 5280 §4.2.1.6: MUST when the subject is empty) */
  readonly subjectAltNameCritical?: boolean
  /**
   * true: SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2 method 1); bytes: as given.
   * Default: true for a CA (§4.2.1.2: CAs MUST carry it), otherwise absent.
   */
  readonly subjectKeyIdentifier?: boolean | Uint8Array
  /** keyIdentifier of the issuer's key (normally the issuer's SKI) */
  readonly authorityKeyIdentifier?: Uint8Array
  readonly extensions?: readonly RawExtension[]
}

export interface MakeCertificateOptions {
  /** digest for RSA keys (default SHA-256); ECDSA uses the curve's matching hash */
  readonly hash?: Exclude<HashAlg, 'SHA-1'>
  /** the SubtleCrypto that owns the key (default globalThis.crypto.subtle); typed structurally, no DOM library needed */
  readonly subtle?: object
  /** digest (SKI) and randomness (serial); default the web platform */
  readonly platform?: Platform
}

const EKU_NAMES: Record<string, string> = { serverAuth: OID.serverAuth, clientAuth: OID.clientAuth }
const CURVE_HASH: Record<string, Exclude<HashAlg, 'SHA-1'>> = { 'P-256': 'SHA-256', 'P-384': 'SHA-384', 'P-521': 'SHA-512' }
const RSA_SIG_OID: Record<string, string> = {
  'SHA-256': OID.sha256WithRSAEncryption,
  'SHA-384': OID.sha384WithRSAEncryption,
  'SHA-512': OID.sha512WithRSAEncryption,
}
const ECDSA_SIG_OID: Record<string, string> = {
  'SHA-256': OID.ecdsaWithSHA256,
  'SHA-384': OID.ecdsaWithSHA384,
  'SHA-512': OID.ecdsaWithSHA512,
}

/**
 * A signer that is not a Web Crypto key (a TPM-resident key, an HSM): the AlgorithmIdentifier DER
 * it signs with and a function returning the signatureValue bits (DER Ecdsa-Sig-Value for ECDSA).
 */
export interface CertificateSigner {
  readonly algorithmIdentifier: Uint8Array
  sign(tbs: Uint8Array): Promise<Uint8Array>
}

/** A Web Crypto private key (`CryptoKey`), typed structurally so that vouch's declarations need no DOM library. */
export interface WebCryptoKey {
  readonly type: string
  readonly algorithm: object
}

function isCryptoKey(k: WebCryptoKey | CertificateSigner): k is WebCryptoKey {
  return typeof (k as CertificateSigner).sign !== 'function'
}

/** The {@link CertificateSigner} of a Web Crypto private key (RSASSA-PKCS1-v1_5 or ECDSA on P-256/384/521). */
export function signerFor(webKey: WebCryptoKey, options: MakeCertificateOptions = {}): CertificateSigner {
  const key = webKey as CryptoKey
  const subtle = (options.subtle as SubtleCrypto | undefined) ?? globalThis.crypto.subtle
  const alg = key.algorithm as { name: string; namedCurve?: string }
  if (key.type !== 'private') throw new TypeError('issuerPrivateKey must be a private key')
  if (alg.name === 'RSASSA-PKCS1-v1_5') {
    const hash = options.hash ?? 'SHA-256'
    return {
      algorithmIdentifier: encodeSequence(encodeOidTlv(RSA_SIG_OID[hash]!), DER_NULL),
      // the key's own hash binding wins in Web Crypto; callers import it with the hash they ask for
      sign: async (tbs) => new Uint8Array(await subtle.sign({ name: 'RSASSA-PKCS1-v1_5' }, key, tbs as Uint8Array<ArrayBuffer>)),
    }
  }
  if (alg.name === 'ECDSA') {
    const hash = CURVE_HASH[alg.namedCurve ?? '']
    if (!hash) throw new TypeError(`unsupported curve ${alg.namedCurve}`)
    return {
      algorithmIdentifier: encodeSequence(encodeOidTlv(ECDSA_SIG_OID[hash]!)),
      sign: async (tbs) => ecdsaP1363ToDer(new Uint8Array(await subtle.sign({ name: 'ECDSA', hash }, key, tbs as Uint8Array<ArrayBuffer>))),
    }
  }
  throw new TypeError(`unsupported signing key algorithm ${alg.name}`)
}

function toMs(t: number | Date): number {
  return typeof t === 'number' ? t : t.getTime()
}

function encodeExtension(oid: string, critical: boolean, value: Uint8Array): Uint8Array<ArrayBuffer> {
  return critical
    ? encodeSequence(encodeOidTlv(oid), encodeBoolean(true), encodeOctetString(value))
    : encodeSequence(encodeOidTlv(oid), encodeOctetString(value))
}

/** KeyUsage BIT STRING with trailing zero bits removed (X.690 §11.2.2 named bit lists). */
export function encodeKeyUsage(names: readonly KeyUsageName[]): Uint8Array<ArrayBuffer> {
  let mask = 0
  for (const n of names) {
    const bit = KEY_USAGE[n]
    if (bit === undefined) throw new RangeError(`unknown keyUsage ${n}`)
    mask |= bit
  }
  if (mask === 0) throw new RangeError('keyUsage needs at least one bit')
  let highest = 0
  for (let i = 0; i < 9; i++) if (mask & (1 << i)) highest = i
  const nbytes = (highest >> 3) + 1
  const bytes = new Uint8Array(nbytes)
  for (let i = 0; i <= highest; i++) if (mask & (1 << i)) bytes[i >> 3]! |= 0x80 >> (i & 7)
  return encodeBitString(bytes, nbytes * 8 - 1 - highest)
}

function encodeGeneralNames(san: SubjectAltNameInput): Uint8Array<ArrayBuffer> {
  const names: Uint8Array[] = []
  for (const d of san.dnsNames ?? []) names.push(encodeImplicitPrimitive(2, utf8(d)))
  for (const n of san.directoryNames ?? []) names.push(encodeExplicit(4, encodeName(n)))
  for (const u of san.uris ?? []) names.push(encodeImplicitPrimitive(6, utf8(u)))
  for (const ip of san.ipAddresses ?? []) names.push(encodeImplicitPrimitive(7, ipAddress(ip)))
  if (names.length === 0) throw new RangeError('subjectAltName needs at least one name')
  return encodeSequence(...names)
}

function ipAddress(text: string): Uint8Array {
  const bytes = parseIpAddress(text)
  if (!bytes) throw new RangeError(`not an IPv4 or IPv6 address: ${text}`)
  return bytes
}

/** The subjectPublicKey bit string contents of an SPKI. */
function subjectPublicKeyBits(spki: Uint8Array): Uint8Array {
  const r = DerReader.sequence(parseDerElement(spki, 'subjectPublicKeyInfo'), 'subjectPublicKeyInfo')
  r.expect(TAG.SEQUENCE, 'algorithm')
  return decodeBitString(r.next('subjectPublicKey'), 'subjectPublicKey').bytes
}

/** RFC 5280 §4.2.1.2 method (1): SHA-1 of the subjectPublicKey BIT STRING value. */
export async function keyIdentifier(spki: Uint8Array, platform: Platform = defaultPlatform()): Promise<Uint8Array> {
  return platform.crypto.digest('SHA-1', subjectPublicKeyBits(spki))
}

function randomSerial(platform: Platform): Uint8Array {
  const s = platform.crypto.randomBytes(16)
  s[0] = (s[0]! & 0x7f) | 0x01 // positive, 16 significant octets
  return s
}

/** Makes and signs a certificate with a Web Crypto private key (or a {@link CertificateSigner}); returns its DER. */
export async function makeCertificate(
  template: CertificateTemplate,
  issuerPrivateKey: WebCryptoKey | CertificateSigner,
  options: MakeCertificateOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const platform = options.platform ?? defaultPlatform()
  const signer = isCryptoKey(issuerPrivateKey) ? signerFor(issuerPrivateKey, options) : issuerPrivateKey
  const spki = template.publicKey instanceof Uint8Array ? template.publicKey : encodeSubjectPublicKeyInfo(template.publicKey)
  const notBefore = toMs(template.notBefore)
  const notAfter = toMs(template.notAfter)
  if (!(notAfter >= notBefore)) throw new RangeError('notAfter is before notBefore')
  const serial = template.serialNumber ?? randomSerial(platform)
  if (serial.length === 0 || serial.length > 20) throw new RangeError('serialNumber must be 1..20 octets')

  const exts: Uint8Array[] = []
  const bc = template.basicConstraints
  if (bc) {
    const parts: Uint8Array[] = []
    if (bc.cA) parts.push(encodeBoolean(true))
    if (bc.pathLenConstraint !== undefined) parts.push(encodeSmallInteger(bc.pathLenConstraint))
    exts.push(encodeExtension(OID.basicConstraints, true, encodeSequence(...parts)))
  }
  if (template.keyUsage) exts.push(encodeExtension(OID.keyUsage, true, encodeKeyUsage(template.keyUsage)))
  if (template.extKeyUsage) {
    const oids = template.extKeyUsage.map((e) => encodeOidTlv(EKU_NAMES[e] ?? e))
    exts.push(encodeExtension(OID.extKeyUsage, false, encodeSequence(...oids)))
  }
  if (template.subjectAltName) {
    exts.push(encodeExtension(OID.subjectAltName, template.subjectAltNameCritical ?? false, encodeGeneralNames(template.subjectAltName)))
  }
  const wantSki = template.subjectKeyIdentifier ?? bc?.cA === true
  if (wantSki) {
    const ski = wantSki === true ? await keyIdentifier(spki, platform) : wantSki
    exts.push(encodeExtension(OID.subjectKeyIdentifier, false, encodeOctetString(ski)))
  }
  if (template.authorityKeyIdentifier) {
    exts.push(
      encodeExtension(OID.authorityKeyIdentifier, false, encodeSequence(encodeImplicitPrimitive(0, template.authorityKeyIdentifier))),
    )
  }
  for (const e of template.extensions ?? []) exts.push(encodeExtension(e.oid, e.critical ?? false, e.value))

  const tbsParts: Uint8Array[] = [
    encodeExplicit(0, encodeSmallInteger(2)), // v3
    encodeUnsignedInteger(serial),
    signer.algorithmIdentifier,
    template.issuer instanceof Uint8Array ? template.issuer : encodeName(template.issuer ?? template.subject),
    encodeSequence(encodeTime(notBefore), encodeTime(notAfter)),
    encodeName(template.subject),
    spki,
  ]
  if (exts.length > 0) tbsParts.push(encodeTlv(contextTag(3, true), encodeSequence(...exts)))
  const tbs = encodeSequence(...tbsParts)
  const signature = await signer.sign(tbs)
  return encodeSequence(tbs, signer.algorithmIdentifier, encodeBitString(signature))
}
