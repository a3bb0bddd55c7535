/** Primitive DER values (X.690 §8, §11) and RFC 5280 §4.1.2.5 times. */
import { DerError } from '../errors.ts'
import { derFail, TAG, type DerElement } from './reader.ts'
import { tolerates, type ToleranceOptions } from './tolerance.ts'

function expectTag(el: DerElement, tag: number, what: string): void {
  if (el.tag !== tag) derFail(`${what}: tag 0x${el.tag.toString(16)}, expected 0x${tag.toString(16)}`, el.offset)
}

/** INTEGER contents, checked minimal (tolerance `non-minimal-integer`), as two's complement bytes. */
export function decodeIntegerBytes(el: DerElement, what: string, options?: ToleranceOptions): Uint8Array {
  const v = el.value
  if (v.length === 0) derFail(`${what}: empty INTEGER`, el.offset)
  if (
    v.length > 1 &&
    ((v[0] === 0 && (v[1]! & 0x80) === 0) || (v[0] === 0xff && (v[1]! & 0x80) !== 0)) &&
    !tolerates(options, 'non-minimal-integer')
  ) {
    derFail(`${what}: INTEGER is not minimally encoded`, el.offset)
  }
  return v
}

/** A non-negative INTEGER as unsigned big-endian magnitude (no leading zero). */
export function decodeUnsigned(el: DerElement, what: string, options?: ToleranceOptions): Uint8Array {
  expectTag(el, TAG.INTEGER, what)
  const v = decodeIntegerBytes(el, what, options)
  if (v[0]! & 0x80) derFail(`${what}: INTEGER is negative, expected non-negative`, el.offset)
  let i = 0
  while (i < v.length - 1 && v[i] === 0) i++
  return v.subarray(i)
}

/** A small non-negative INTEGER (up to 2^31-1) as a number. */
export function decodeSmallInteger(el: DerElement, what: string, options?: ToleranceOptions): number {
  const m = decodeUnsigned(el, what, options)
  if (m.length > 4 || (m.length === 4 && m[0]! & 0x80)) derFail(`${what}: INTEGER too large`, el.offset)
  let n = 0
  for (const b of m) n = n * 256 + b
  return n
}

/** BOOLEAN: DER requires 0x00 or 0xFF. */
export function decodeBoolean(el: DerElement, what: string): boolean {
  expectTag(el, TAG.BOOLEAN, what)
  if (el.value.length !== 1) derFail(`${what}: BOOLEAN of ${el.value.length} octets, expected 1`, el.offset)
  const b = el.value[0]!
  if (b !== 0 && b !== 0xff) derFail(`${what}: BOOLEAN 0x${b.toString(16)} is not DER (0x00 or 0xFF)`, el.offset)
  return b === 0xff
}

export interface BitString {
  readonly unusedBits: number
  readonly bytes: Uint8Array
}

/** BIT STRING: unused-bits octet 0..7, zero when empty, unused bits zero (X.690 §11.2.1). */
export function decodeBitString(el: DerElement, what: string): BitString {
  expectTag(el, TAG.BIT_STRING, what)
  const v = el.value
  if (v.length === 0) derFail(`${what}: BIT STRING has no unused-bits octet`, el.offset)
  const unused = v[0]!
  if (unused > 7 || (v.length === 1 && unused !== 0)) derFail(`${what}: BIT STRING unused-bits ${unused} is invalid`, el.offset)
  if (unused && (v[v.length - 1]! & ((1 << unused) - 1)) !== 0) derFail(`${what}: BIT STRING unused bits are not zero`, el.offset)
  return { unusedBits: unused, bytes: v.subarray(1) }
}

/**
 * A named-bit-list BIT STRING (keyUsage) as a bit mask, bit 0 = most significant bit of the first
 * octet. DER removes trailing zero bits (X.690 §11.2.2); tolerance `untrimmed-bit-string` skips that check.
 */
export function decodeNamedBits(el: DerElement, what: string, options?: ToleranceOptions): number {
  const bs = decodeBitString(el, what)
  if (bs.bytes.length > 4) derFail(`${what}: named bit list longer than 32 bits`, el.offset)
  if (!tolerates(options, 'untrimmed-bit-string') && bs.bytes.length > 0) {
    const last = bs.bytes[bs.bytes.length - 1]!
    if (last === 0 || (last & (1 << bs.unusedBits)) === 0) {
      derFail(`${what}: named bit list has trailing zero bits (not DER)`, el.offset)
    }
  }
  let mask = 0
  for (let i = 0; i < bs.bytes.length; i++) {
    const byte = bs.bytes[i]!
    for (let b = 0; b < 8; b++) if (byte & (0x80 >> b)) mask |= 1 << (i * 8 + b)
  }
  return mask >>> 0
}

/** OCTET STRING contents. */
export function decodeOctetString(el: DerElement, what: string): Uint8Array {
  expectTag(el, TAG.OCTET_STRING, what)
  return el.value
}

export function decodeNull(el: DerElement, what: string): void {
  expectTag(el, TAG.NULL, what)
  if (el.value.length !== 0) derFail(`${what}: NULL with contents`, el.offset)
}

const UTF8 = new TextDecoder('utf-8', { fatal: true })
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/

/**
 * A character string as text: UTF8String, PrintableString, IA5String, VisibleString, BMPString,
 * UniversalString, T61String (read as Latin-1, as browsers do). Returns undefined for other tags.
 */
export function decodeString(el: DerElement, what: string): string | undefined {
  const v = el.value
  try {
    switch (el.tag) {
      case TAG.UTF8_STRING:
        return UTF8.decode(v)
      case TAG.PRINTABLE_STRING: {
        const s = latin1(v)
        if (!PRINTABLE.test(s)) derFail(`${what}: PrintableString has a character outside its set`, el.offset)
        return s
      }
      case TAG.IA5_STRING:
      case TAG.VISIBLE_STRING: {
        for (const b of v) if (b > 0x7f) derFail(`${what}: IA5String/VisibleString has a non-ASCII byte`, el.offset)
        return latin1(v)
      }
      case TAG.T61_STRING:
        return latin1(v)
      case TAG.BMP_STRING: {
        if (v.length % 2) derFail(`${what}: BMPString of odd length`, el.offset)
        let s = ''
        for (let i = 0; i < v.length; i += 2) s += String.fromCharCode((v[i]! << 8) | v[i + 1]!)
        return s
      }
      case TAG.UNIVERSAL_STRING: {
        if (v.length % 4) derFail(`${what}: UniversalString length not a multiple of 4`, el.offset)
        let s = ''
        for (let i = 0; i < v.length; i += 4) {
          const cp = ((v[i]! << 24) | (v[i + 1]! << 16) | (v[i + 2]! << 8) | v[i + 3]!) >>> 0
          if (cp > 0x10ffff) derFail(`${what}: UniversalString code point out of range`, el.offset)
          s += String.fromCodePoint(cp)
        }
        return s
      }
      default:
        return undefined
    }
  } catch (e) {
    if (e instanceof DerError) throw e
    derFail(`${what}: invalid UTF-8`, el.offset)
  }
}

function latin1(v: Uint8Array): string {
  let s = ''
  for (let i = 0; i < v.length; i++) s += String.fromCharCode(v[i]!)
  return s
}

function digits(v: Uint8Array, at: number, n: number, what: string, offset: number): number {
  let x = 0
  for (let i = at; i < at + n; i++) {
    const c = v[i]! - 48
    if (c < 0 || c > 9) derFail(`${what}: time has a non-digit`, offset)
    x = x * 10 + c
  }
  return x
}

/** Days in `month` (1..12) of `year`, proleptic Gregorian. */
function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31
}

/**
 * UTCTime `YYMMDDHHMMSSZ` (YY >= 50 is 19YY) or GeneralizedTime `YYYYMMDDHHMMSSZ`, no fractions,
 * as RFC 5280 §4.1.2.5 requires; milliseconds since the epoch. Dates before 2050 in
 * GeneralizedTime need the tolerance `generalized-time-before-2050`.
 */
export function decodeTime(el: DerElement, what: string, options?: ToleranceOptions): number {
  const v = el.source
  const o = el.valueOffset
  const n = el.length
  let year: number
  let at: number
  if (el.tag === TAG.UTC_TIME) {
    if (n !== 13 || v[o + 12] !== 0x5a) derFail(`${what}: UTCTime must be YYMMDDHHMMSSZ`, el.offset)
    const yy = digits(v, o, 2, what, el.offset)
    year = yy >= 50 ? 1900 + yy : 2000 + yy
    at = o + 2
  } else if (el.tag === TAG.GENERALIZED_TIME) {
    if (n !== 15 || v[o + 14] !== 0x5a) derFail(`${what}: GeneralizedTime must be YYYYMMDDHHMMSSZ`, el.offset)
    year = digits(v, o, 4, what, el.offset)
    at = o + 4
    if (year < 2050 && !tolerates(options, 'generalized-time-before-2050')) {
      derFail(`${what}: GeneralizedTime for year ${year} (< 2050 must be UTCTime)`, el.offset)
    }
  } else {
    derFail(`${what}: tag 0x${el.tag.toString(16)}, expected UTCTime or GeneralizedTime`, el.offset)
  }
  const month = digits(v, at, 2, what, el.offset)
  const day = digits(v, at + 2, 2, what, el.offset)
  const hour = digits(v, at + 4, 2, what, el.offset)
  const min = digits(v, at + 6, 2, what, el.offset)
  const sec = digits(v, at + 8, 2, what, el.offset)
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || hour > 23 || min > 59 || sec > 59) {
    derFail(`${what}: time ${latin1(el.value)} is not a valid date`, el.offset)
  }
  const ms = Date.UTC(year, month - 1, day, hour, min, sec)
  // Date.UTC maps years 0..99 to 1900..1999
  if (year < 100) return new Date(ms).setUTCFullYear(year)
  return ms
}
