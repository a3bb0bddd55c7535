/** OBJECT IDENTIFIER (X.690 §8.19): dotted text <-> contents octets, and the OIDs vouch names. */
import { fnv1aBytes } from '../bytes/bytes-cache.ts'
import { derFail, type DerElement } from './reader.ts'

/**
 * OIDs repeat across certificates: short ones are memoised by their octets, in slots keyed by an
 * FNV-1a hash of the octets; a hit compares the octets in full.
 */
interface OidEntry {
  readonly octets: Uint8Array
  readonly dotted: string
}
const cache = new Map<number, OidEntry>()
const CACHE_MAX = 2048
const MEMO_MAX_OCTETS = 24

function octetsAt(source: Uint8Array, start: number, length: number, octets: Uint8Array): boolean {
  if (octets.length !== length) return false
  for (let i = 0; i < length; i++) if (source[start + i] !== octets[i]) return false
  return true
}

function lookup(source: Uint8Array, start: number, length: number, offset: number): string {
  const h = (fnv1aBytes(source, start, start + length) ^ length) >>> 0
  const hit = cache.get(h)
  if (hit !== undefined && octetsAt(source, start, length, hit.octets)) return hit.dotted
  const octets = source.slice(start, start + length)
  const dotted = decodeOidUncached(octets, offset)
  if (cache.size < CACHE_MAX || hit !== undefined) cache.set(h, { octets, dotted })
  return dotted
}

/** The dotted form of OID contents octets; rejects empty contents and non-minimal subidentifiers. */
export function decodeOid(value: Uint8Array, offset = 0): string {
  return value.length <= MEMO_MAX_OCTETS ? lookup(value, 0, value.length, offset) : decodeOidUncached(value, offset)
}

/** decodeOid of an element's contents, read in place (no view allocated). */
export function oidOf(el: DerElement): string {
  return el.length <= MEMO_MAX_OCTETS
    ? lookup(el.source, el.valueOffset, el.length, el.valueOffset)
    : decodeOidUncached(el.value, el.valueOffset)
}

function decodeOidUncached(value: Uint8Array, offset: number): string {
  if (value.length === 0) derFail('oid: empty', offset)
  if (value.length > 128) derFail(`oid: ${value.length} octets exceeds the 128-octet bound`, offset)
  const parts: string[] = []
  let acc = 0
  let big: bigint | undefined
  let startOfArc = true
  for (let i = 0; i < value.length; i++) {
    const b = value[i]!
    if (startOfArc && b === 0x80) derFail('oid: subidentifier has a leading 0x80 (not minimal)', offset + i)
    startOfArc = false
    if (big !== undefined) big = (big << 7n) | BigInt(b & 0x7f)
    else {
      acc = acc * 128 + (b & 0x7f)
      if (acc > 0x1fffffffffff) big = BigInt(acc)
    }
    if ((b & 0x80) === 0) {
      if (parts.length === 0) {
        const v = big ?? BigInt(acc)
        if (v < 40n) parts.push('0', v.toString())
        else if (v < 80n) parts.push('1', (v - 40n).toString())
        else parts.push('2', (v - 80n).toString())
      } else {
        parts.push(big !== undefined ? big.toString() : String(acc))
      }
      acc = 0
      big = undefined
      startOfArc = true
    }
  }
  if (!startOfArc) derFail('oid: last subidentifier is truncated', offset + value.length - 1)
  return parts.join('.')
}

function base128(v: bigint, out: number[]): void {
  const tmp: number[] = [Number(v & 0x7fn)]
  v >>= 7n
  while (v > 0n) {
    tmp.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  for (let i = tmp.length - 1; i >= 0; i--) out.push(tmp[i]!)
}

/** most encodings kept by encodeOid (certificates and CSRs name a few dozen OIDs) */
const MAX_ENCODED_OIDS = 256
const encodedOids = new Map<string, Uint8Array<ArrayBuffer>>()

/**
 * Contents octets of the dotted OID (no tag or length). Throws TypeError on malformed text. The
 * encodings of the OIDs met are kept (256 at most, each returned as a fresh copy): every issued
 * certificate names the same algorithm, extension and attribute OIDs.
 */
export function encodeOid(dotted: string): Uint8Array<ArrayBuffer> {
  const kept = encodedOids.get(dotted)
  if (kept) return kept.slice()
  const encoded = encodeOidArcs(dotted)
  if (encodedOids.size < MAX_ENCODED_OIDS) encodedOids.set(dotted, encoded.slice())
  return encoded
}

function encodeOidArcs(dotted: string): Uint8Array<ArrayBuffer> {
  if (!/^[0-2](\.(0|[1-9][0-9]*))+$/.test(dotted)) throw new TypeError(`not a dotted oid: ${dotted}`)
  const arcs = dotted.split('.').map((a) => BigInt(a))
  const first = arcs[0]!
  const second = arcs[1]!
  if (first < 2n && second >= 40n) throw new TypeError(`second arc of ${dotted} must be < 40`)
  const out: number[] = []
  base128(first * 40n + second, out)
  for (const arc of arcs.slice(2)) base128(arc, out)
  return new Uint8Array(out)
}

/** Named OIDs used by vouch (RFC 5280, RFC 3279/4055/5758, TCG EK Credential Profile). */
export const OID = {
  // attribute types (RFC 5280 Appendix A)
  commonName: '2.5.4.3',
  surname: '2.5.4.4',
  serialNumber: '2.5.4.5',
  countryName: '2.5.4.6',
  localityName: '2.5.4.7',
  stateOrProvinceName: '2.5.4.8',
  organizationName: '2.5.4.10',
  organizationalUnitName: '2.5.4.11',
  emailAddress: '1.2.840.113549.1.9.1',
  // extensions (RFC 5280 §4.2)
  subjectDirectoryAttributes: '2.5.29.9',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  issuerAltName: '2.5.29.18',
  basicConstraints: '2.5.29.19',
  nameConstraints: '2.5.29.30',
  cRLDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  policyMappings: '2.5.29.33',
  authorityKeyIdentifier: '2.5.29.35',
  policyConstraints: '2.5.29.36',
  extKeyUsage: '2.5.29.37',
  inhibitAnyPolicy: '2.5.29.54',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  anyPolicy: '2.5.29.32.0',
  anyExtendedKeyUsage: '2.5.29.37.0',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  // keys
  rsaEncryption: '1.2.840.113549.1.1.1',
  rsassaPss: '1.2.840.113549.1.1.10',
  ecPublicKey: '1.2.840.10045.2.1',
  secp256r1: '1.2.840.10045.3.1.7',
  secp384r1: '1.3.132.0.34',
  secp521r1: '1.3.132.0.35',
  // signatures
  sha1WithRSAEncryption: '1.2.840.113549.1.1.5',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  sha384WithRSAEncryption: '1.2.840.113549.1.1.12',
  sha512WithRSAEncryption: '1.2.840.113549.1.1.13',
  ecdsaWithSHA1: '1.2.840.10045.4.1',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  ecdsaWithSHA512: '1.2.840.10045.4.3.4',
  mgf1: '1.2.840.113549.1.1.8',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  // TCG EK Credential Profile
  tpmManufacturer: '2.23.133.2.1',
  tpmModel: '2.23.133.2.2',
  tpmVersion: '2.23.133.2.3',
  tpmSpecification: '2.23.133.2.16',
  ekCertificate: '2.23.133.8.1',
  aikCertificate: '2.23.133.8.3',
  hardwareModuleName: '1.3.6.1.5.5.7.8.4',
  // TCG TPM 2.0 Keys for Device Identity and Attestation §8 (KeyPurposeIds of IDevID/IAK certificates)
  verifiedTpmResidency: '2.23.133.11.1.1',
  verifiedTpmFixed: '2.23.133.11.1.2',
  verifiedTpmRestricted: '2.23.133.11.1.3',
} as const
