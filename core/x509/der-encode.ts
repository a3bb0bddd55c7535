/**
 * DER encoders for building certificates (ITU-T X.690 §10, RFC 5280 §4.1): the primitives that
 * core/der/writer.ts does not carry (BOOLEAN, strings, times, explicit/implicit context tags,
 * SET OF in DER order), plus X.501 Names from attribute lists. Builders only; never parse.
 */
import { concatBytes } from '../bytes/equal.ts'
import { utf8 } from '../bytes/encoding.ts'
import { compareDerOrder, contextTag, TAG } from '../der/reader.ts'
import { OID } from '../der/oid.ts'
import { encodeOidTlv, encodeSequence, encodeTlv } from '../der/writer.ts'

export { encodeBitString, encodeOidTlv, encodeSequence, encodeTlv, encodeUnsignedInteger, DER_NULL } from '../der/writer.ts'

export function encodeBoolean(value: boolean): Uint8Array<ArrayBuffer> {
  return Uint8Array.of(TAG.BOOLEAN, 1, value ? 0xff : 0x00)
}

export function encodeOctetString(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return encodeTlv(TAG.OCTET_STRING, bytes)
}

/** A small non-negative INTEGER (two's complement, minimal). */
export function encodeSmallInteger(n: number): Uint8Array<ArrayBuffer> {
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) throw new RangeError(`integer out of range: ${n}`)
  const bytes: number[] = []
  let v = n
  do {
    bytes.unshift(v & 0xff)
    v = Math.floor(v / 256)
  } while (v > 0)
  if (bytes[0]! & 0x80) bytes.unshift(0)
  return encodeTlv(TAG.INTEGER, Uint8Array.from(bytes))
}

export function encodeUtf8String(text: string): Uint8Array<ArrayBuffer> {
  return encodeTlv(TAG.UTF8_STRING, utf8(text))
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/

export function encodePrintableString(text: string): Uint8Array<ArrayBuffer> {
  if (!PRINTABLE.test(text)) throw new RangeError('not a PrintableString')
  return encodeTlv(TAG.PRINTABLE_STRING, utf8(text))
}

export function encodeIa5String(text: string): Uint8Array<ArrayBuffer> {
  // eslint-disable-next-line no-control-regex
  if (!/^[\x00-\x7f]*$/.test(text)) throw new RangeError('not an IA5String')
  return encodeTlv(TAG.IA5_STRING, utf8(text))
}

/** `[n] EXPLICIT` around an encoded element. */
export function encodeExplicit(n: number, inner: Uint8Array): Uint8Array<ArrayBuffer> {
  return encodeTlv(contextTag(n, true), inner)
}

/** `[n] IMPLICIT` with primitive contents (e.g. a GeneralName uniformResourceIdentifier). */
export function encodeImplicitPrimitive(n: number, contents: Uint8Array): Uint8Array<ArrayBuffer> {
  return encodeTlv(contextTag(n, false), contents)
}

/** SET OF in DER order (X.690 §11.6: elements sorted as octet strings). */
export function encodeSetOf(...elements: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const sorted = [...elements].sort(compareDerOrder)
  return encodeTlv(TAG.SET, concatBytes(...sorted))
}

function two(n: number): string {
  return String(n).padStart(2, '0')
}

/**
 * Time (RFC 5280 §4.1.2.5): UTCTime for 1950–2049, GeneralizedTime otherwise, always UTC with
 * seconds and no fraction. Milliseconds are truncated.
 */
export function encodeTime(ms: number): Uint8Array<ArrayBuffer> {
  if (!Number.isFinite(ms)) throw new RangeError('time is not finite')
  const d = new Date(Math.floor(ms / 1000) * 1000)
  const y = d.getUTCFullYear()
  const rest = `${two(d.getUTCMonth() + 1)}${two(d.getUTCDate())}${two(d.getUTCHours())}${two(d.getUTCMinutes())}${two(d.getUTCSeconds())}Z`
  if (y >= 1950 && y < 2050) return encodeTlv(TAG.UTC_TIME, utf8(`${two(y % 100)}${rest}`))
  if (y < 0 || y > 9999) throw new RangeError(`year ${y} out of range`)
  return encodeTlv(TAG.GENERALIZED_TIME, utf8(`${String(y).padStart(4, '0')}${rest}`))
}

/** One name attribute. `type` is a short name (CN, O, OU, C, L, ST, serialNumber) or a dotted OID. */
export interface NameAttributeInput {
  readonly type: string
  readonly value: string
}

/** A Name as RDNs (one attribute each, or several for a multi-valued RDN), most significant first. */
export type NameInput = readonly (NameAttributeInput | readonly NameAttributeInput[])[]

const SHORT_NAMES: Record<string, string> = {
  CN: OID.commonName,
  O: OID.organizationName,
  OU: OID.organizationalUnitName,
  C: OID.countryName,
  L: OID.localityName,
  ST: OID.stateOrProvinceName,
  SN: OID.surname,
  serialNumber: OID.serialNumber,
  emailAddress: OID.emailAddress,
}

function attributeOid(type: string): string {
  const oid = SHORT_NAMES[type] ?? type
  if (!/^[0-2](\.\d+)+$/.test(oid)) throw new RangeError(`unknown name attribute type ${type}`)
  return oid
}

/** The value encoding RFC 5280 requires or recommends: PrintableString for C and serialNumber, IA5 for email, else UTF8String. */
function attributeValue(oid: string, value: string): Uint8Array<ArrayBuffer> {
  if (oid === OID.countryName || oid === OID.serialNumber) return encodePrintableString(value)
  if (oid === OID.emailAddress) return encodeIa5String(value)
  return encodeUtf8String(value)
}

/** Name ::= SEQUENCE OF RelativeDistinguishedName (RFC 5280 §4.1.2.4). */
export function encodeName(name: NameInput): Uint8Array<ArrayBuffer> {
  const rdns = name.map((rdn) => {
    const attrs = (Array.isArray(rdn) ? rdn : [rdn]) as readonly NameAttributeInput[]
    return encodeSetOf(
      ...attrs.map((a) => {
        const oid = attributeOid(a.type)
        return encodeSequence(encodeOidTlv(oid), attributeValue(oid, a.value))
      }),
    )
  })
  return encodeSequence(...rdns)
}
