/**
 * A strict DER reader (ITU-T X.690 §8 BER with the §10/§11 DER restrictions): definite lengths
 * only, minimal length octets (at most 4), low tag numbers only (X.509 uses no others), every
 * element bounds-checked against its parent. Errors are DerError with the absolute offset.
 */
import { DerError } from '../errors.ts'

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  SEQUENCE: 0x30,
  SET: 0x31,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE_STRING: 0x1a,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
} as const

/** Context-specific tag `[n]`, constructed or primitive. */
export function contextTag(n: number, constructed: boolean): number {
  return 0x80 | (constructed ? 0x20 : 0) | n
}

/**
 * One TLV. `tlv` and `value` are views made on demand (subarray allocation dominates a DER walk,
 * and most elements are only skipped or checked by tag).
 *
 * The hot classes of core (this, DerReader, ByteReader, ByteWriter) declare their fields and
 * assign them in the constructor: with ES2022 class fields a compiled constructor first defines
 * every field as undefined, then assigns it, which costs a DER walk measurably.
 */
export class DerElement {
  /** the identifier octet (class, constructed bit and tag number) */
  declare readonly tag: number
  /** absolute offset of the identifier octet in `source` */
  declare readonly offset: number
  /** absolute offset of the contents */
  declare readonly valueOffset: number
  /** length of the contents */
  declare readonly length: number
  /** the buffer all offsets refer to */
  declare readonly source: Uint8Array

  constructor(tag: number, offset: number, valueOffset: number, length: number, source: Uint8Array) {
    this.tag = tag
    this.offset = offset
    this.valueOffset = valueOffset
    this.length = length
    this.source = source
  }

  /** absolute offset just past the element */
  get end(): number {
    return this.valueOffset + this.length
  }

  /** the whole element (identifier, length, contents) */
  get tlv(): Uint8Array {
    return this.source.subarray(this.offset, this.valueOffset + this.length)
  }

  /** the contents octets */
  get value(): Uint8Array {
    return this.source.subarray(this.valueOffset, this.valueOffset + this.length)
  }
}

export function derFail(message: string, offset: number): never {
  throw new DerError('ERR_DER_MALFORMED', `${message} at offset ${offset}`, { detail: { offset } })
}

function elementName(what: string, field: string | undefined): string {
  return field === undefined ? what : `${what}: ${field}`
}

/**
 * The element starting at `offset`, which must end at or before `end`. Faults are named
 * `what` (or `what: field`); the name is only built when there is a fault.
 */
export function readElement(source: Uint8Array, offset: number, end: number, what: string, field?: string): DerElement {
  if (offset >= end) derFail(`${elementName(what, field)}: missing element`, offset)
  const tag = source[offset]!
  if ((tag & 0x1f) === 0x1f) derFail(`${elementName(what, field)}: high tag number form is not supported`, offset)
  let pos = offset + 1
  if (pos >= end) derFail(`${elementName(what, field)}: truncated length`, pos)
  const first = source[pos++]!
  let length: number
  if (first < 0x80) {
    length = first
  } else {
    const n = first & 0x7f
    if (n === 0) derFail(`${elementName(what, field)}: indefinite length is not DER`, pos - 1)
    if (n > 4) derFail(`${elementName(what, field)}: length of ${n} octets exceeds the 4-octet bound`, pos - 1)
    if (pos + n > end) derFail(`${elementName(what, field)}: truncated length`, pos - 1)
    if (source[pos] === 0) derFail(`${elementName(what, field)}: length has a leading zero octet (not DER)`, pos - 1)
    length = 0
    for (let i = 0; i < n; i++) length = length * 256 + source[pos + i]!
    if (length < 0x80) derFail(`${elementName(what, field)}: long-form length ${length} below 128 is not DER`, pos - 1)
    pos += n
  }
  if (length > end - pos) derFail(`${elementName(what, field)}: length ${length} runs past the end (${end - pos} bytes left)`, offset)
  return new DerElement(tag, offset, pos, length, source)
}

function tagName(tag: number): string {
  return `0x${tag.toString(16).padStart(2, '0')}`
}

/** A cursor over the children of a constructed element (or over a whole buffer). */
export class DerReader {
  declare private pos: number
  declare readonly source: Uint8Array
  declare readonly start: number
  declare readonly end: number
  declare readonly what: string

  constructor(source: Uint8Array, start: number, end: number, what: string) {
    this.source = source
    this.start = start
    this.end = end
    this.what = what
    this.pos = start
  }

  /** A reader over the contents of `el`. */
  static of(el: DerElement, what: string): DerReader {
    if ((el.tag & 0x20) === 0) derFail(`${what}: expected a constructed element, found primitive tag ${tagName(el.tag)}`, el.offset)
    return new DerReader(el.source, el.valueOffset, el.end, what)
  }

  /** A reader over the contents of `el`, which must be a SEQUENCE (or `tag`). */
  static sequence(el: DerElement, what: string, tag: number = TAG.SEQUENCE): DerReader {
    if (el.tag !== tag) derFail(`${what}: tag ${tagName(el.tag)}, expected ${tagName(tag)}`, el.offset)
    return DerReader.of(el, what)
  }

  get offset(): number {
    return this.pos
  }

  get done(): boolean {
    return this.pos >= this.end
  }

  peekTag(): number | undefined {
    return this.pos < this.end ? this.source[this.pos] : undefined
  }

  next(field: string): DerElement {
    const el = readElement(this.source, this.pos, this.end, this.what, field)
    this.pos = el.end
    return el
  }

  expect(tag: number, field: string): DerElement {
    const t = this.peekTag()
    if (t !== tag) {
      derFail(`${this.what}: ${field} has tag ${t === undefined ? 'none (end of data)' : tagName(t)}, expected ${tagName(tag)}`, this.pos)
    }
    return this.next(field)
  }

  optional(tag: number, field: string): DerElement | undefined {
    return this.peekTag() === tag ? this.next(field) : undefined
  }

  /** Throws unless every byte was consumed. */
  finish(): void {
    if (this.pos < this.end) {
      throw new DerError('ERR_DER_TRAILING_DATA', `${this.what}: ${this.end - this.pos} unexpected bytes at offset ${this.pos}`, {
        detail: { offset: this.pos },
      })
    }
  }
}

/**
 * The one DER element in `bytes`. With `allowTrailingData` bytes after it are ignored (tolerance
 * `trailing-data`: an EK certificate read from a fixed-size NV index, padded with 0xFF).
 */
export function parseDerElement(bytes: Uint8Array, what = 'DER', allowTrailingData = false): DerElement {
  const el = readElement(bytes, 0, bytes.length, what)
  if (!allowTrailingData && el.end !== bytes.length) {
    throw new DerError('ERR_DER_TRAILING_DATA', `${what}: ${bytes.length - el.end} bytes follow the DER element at offset ${el.end}`, {
      detail: { offset: el.end },
    })
  }
  return el
}

/** The bytes of the first DER element, dropping any trailer (e.g. NV padding). */
export function firstDerElement(bytes: Uint8Array, what = 'DER'): Uint8Array {
  return readElement(bytes, 0, bytes.length, what).tlv
}

/** X.690 §11.6: SET OF components in ascending order of their encodings (shorter padded with 0). */
export function compareDerOrder(a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? 0
    const y = b[i] ?? 0
    if (x !== y) return x - y
  }
  return 0
}
