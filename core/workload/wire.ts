/**
 * Protocol Buffers wire format (the encoding of proto3 messages), as much as the SPIFFE Workload API
 * needs: varints up to 64 bits, fixed 32/64-bit values, length-delimited fields, and the skipping of
 * unknown fields.
 *
 * - {@link ProtoReader} is a bounded cursor: every read returns a value or throws a
 *   {@link WorkloadError} `ERR_WORKLOAD_MALFORMED` naming the message and the offset (a truncated
 *   field, a varint longer than 10 bytes or above 2^64, a length past the end, wire type 6/7, a field
 *   number 0, invalid UTF-8 in a string); nothing else escapes it.
 * - {@link ProtoReader.fields} walks a message: it yields `(field number, wire type)` and the caller
 *   reads the value it knows or calls {@link ProtoReader.skipField}. A known field that arrives with
 *   another wire type is skipped as unknown, as the proto3 parsers do.
 * - {@link ProtoWriter} builds messages; it writes nothing for a proto3 default (empty string or
 *   bytes, zero) of a singular field, like protoc-generated encoders.
 */
import { WorkloadError } from '../errors.ts'
import { WORKLOAD_MESSAGE_DEPTH } from '../messages.ts'

/** The wire types of the protobuf encoding. */
export const WireType = { varint: 0, fixed64: 1, lengthDelimited: 2, startGroup: 3, endGroup: 4, fixed32: 5 } as const
export type WireType = (typeof WireType)[keyof typeof WireType]

/** Groups (deprecated wire types 3/4) and messages nest at most this deep when skipped or decoded. */
export const MAX_NESTING_DEPTH = 64

const MAX_FIELD_NUMBER = 2 ** 29 - 1
const TWO_64 = 1n << 64n

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })
const utf8Encoder = new TextEncoder()

export function malformed(what: string, message: string, offset: number): WorkloadError {
  return new WorkloadError('ERR_WORKLOAD_MALFORMED', `${what}: ${message}`, { detail: { offset } })
}

/**
 * Joins the payloads of an embedded message field seen more than once: proto3 merges them, and
 * decoding the concatenation is that merge.
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

export interface FieldKey {
  readonly field: number
  readonly wireType: WireType
}

export class ProtoReader {
  declare readonly bytes: Uint8Array
  /** the message being decoded, for error messages */
  declare readonly what: string
  declare private pos: number
  declare private readonly end: number
  declare private readonly view: DataView

  constructor(bytes: Uint8Array, what: string) {
    this.bytes = bytes
    this.what = what
    this.pos = 0
    this.end = bytes.length
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  get offset(): number {
    return this.pos
  }

  get done(): boolean {
    return this.pos >= this.end
  }

  private fail(message: string, at = this.pos): never {
    throw malformed(this.what, message, at)
  }

  /** A varint of up to 64 bits (10 bytes; the 10th byte may only carry bit 63). */
  varint64(field = 'varint'): bigint {
    const start = this.pos
    let lo = 0
    let shift = 0
    // the first 4 bytes fit a number exactly; the rest goes through bigint only when present
    while (shift < 28) {
      if (this.pos >= this.end) this.fail(`truncated ${field} at offset ${start}`, start)
      const b = this.bytes[this.pos++]!
      lo |= (b & 0x7f) << shift
      if (b < 0x80) return BigInt(lo >>> 0)
      shift += 7
    }
    let value = BigInt(lo >>> 0)
    let big = 28n
    for (let i = 4; i < 10; i++) {
      if (this.pos >= this.end) this.fail(`truncated ${field} at offset ${start}`, start)
      const b = this.bytes[this.pos++]!
      if (i === 9 && b > 1) this.fail(`${field} at offset ${start} overflows 64 bits`, start)
      value |= BigInt(b & 0x7f) << big
      if (b < 0x80) return value
      big += 7n
    }
    return this.fail(`${field} at offset ${start} is longer than 10 bytes`, start)
  }

  /** A varint that must fit 32 bits unsigned (lengths, tags). */
  uint32(field = 'varint'): number {
    const start = this.pos
    const v = this.varint64(field)
    if (v > 0xffffffffn) this.fail(`${field} at offset ${start} does not fit 32 bits`, start)
    return Number(v)
  }

  /** A proto3 `bool`: any non-zero varint is true. */
  bool(field = 'bool'): boolean {
    return this.varint64(field) !== 0n
  }

  /** A proto3 `int32`/enum: the low 32 bits of the varint, two's complement. */
  int32(field = 'int32'): number {
    return Number(BigInt.asIntN(32, this.varint64(field)))
  }

  fixed64Bytes(field = 'fixed64'): Uint8Array {
    return this.take(8, field)
  }

  /** A `double` (fixed64, little-endian IEEE 754). */
  double(field = 'double'): number {
    const at = this.pos
    this.take(8, field)
    return this.view.getFloat64(at, true)
  }

  private take(n: number, field: string): Uint8Array {
    if (n > this.end - this.pos) {
      this.fail(`truncated ${field} at offset ${this.pos}: need ${n} bytes, ${this.end - this.pos} left`)
    }
    const out = this.bytes.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  /** A length-delimited value (bytes, string, embedded message, packed repeated) as a view. */
  lengthDelimited(field = 'bytes'): Uint8Array {
    const start = this.pos
    const n = this.uint32(`${field} length`)
    if (n > this.end - this.pos) {
      this.fail(`${field} at offset ${start} declares ${n} bytes, ${this.end - this.pos} left`, start)
    }
    return this.take(n, field)
  }

  /** A `bytes` field, copied out of the input so the result outlives it. */
  bytesField(field = 'bytes'): Uint8Array {
    return this.lengthDelimited(field).slice()
  }

  /** A `string` field: length-delimited valid UTF-8 (proto3 rejects anything else). */
  string(field = 'string'): string {
    const start = this.pos
    const raw = this.lengthDelimited(field)
    try {
      return utf8.decode(raw)
    } catch {
      return this.fail(`${field} at offset ${start} is not valid UTF-8`, start)
    }
  }

  /** The next field key, or undefined at the end of the message. */
  key(): FieldKey | undefined {
    if (this.pos >= this.end) return undefined
    const start = this.pos
    const tag = this.uint32('field tag')
    const wireType = tag & 7
    const field = tag >>> 3
    if (field === 0 || field > MAX_FIELD_NUMBER) this.fail(`invalid field number ${field} at offset ${start}`, start)
    if (wireType > 5) this.fail(`invalid wire type ${wireType} at offset ${start}`, start)
    return { field, wireType: wireType as WireType }
  }

  /** Skips the value of an unknown field (groups included, nested at most {@link MAX_NESTING_DEPTH}). */
  skipField(key: FieldKey, depth = 0): void {
    switch (key.wireType) {
      case WireType.varint:
        this.varint64(`field ${key.field}`)
        return
      case WireType.fixed64:
        this.take(8, `field ${key.field}`)
        return
      case WireType.lengthDelimited:
        this.lengthDelimited(`field ${key.field}`)
        return
      case WireType.fixed32:
        this.take(4, `field ${key.field}`)
        return
      case WireType.startGroup: {
        if (depth >= MAX_NESTING_DEPTH) this.fail(WORKLOAD_MESSAGE_DEPTH)
        for (;;) {
          const at = this.pos
          const inner = this.key()
          if (inner === undefined) this.fail(`group ${key.field} is not closed`, at)
          if (inner.wireType === WireType.endGroup) {
            if (inner.field !== key.field) this.fail(`group ${key.field} closed as ${inner.field} at offset ${at}`, at)
            return
          }
          this.skipField(inner, depth + 1)
        }
      }
      case WireType.endGroup:
        this.fail(`unexpected end of group ${key.field}`)
    }
  }

  /** Iterates the fields of the message: the caller reads or {@link skip}s each value. */
  *fields(): Generator<FieldKey, void, undefined> {
    for (let k = this.key(); k !== undefined; k = this.key()) yield k
  }
}

/** Encodes `value` as a varint (unsigned; a negative number is written as its 64-bit two's complement). */
function varintBytes(value: number | bigint, out: number[]): void {
  let v = typeof value === 'bigint' ? BigInt.asUintN(64, value) : value
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new RangeError(`varint: ${v} is not an integer`)
    if (v < 0) v = BigInt.asUintN(64, BigInt(v))
    else if (v <= 0xffffffff) {
      while (v > 0x7f) {
        out.push((v & 0x7f) | 0x80)
        v >>>= 7
      }
      out.push(v)
      return
    } else v = BigInt(v)
  }
  if (v >= TWO_64) throw new RangeError('varint: value exceeds 64 bits')
  while (v > 0x7fn) {
    out.push(Number(v & 0x7fn) | 0x80)
    v >>= 7n
  }
  out.push(Number(v))
}

/** Appends protobuf fields; {@link finish} returns the message bytes. */
export class ProtoWriter {
  private readonly parts: Uint8Array[] = []
  private scratch: number[] = []
  private length = 0

  private flushScratch(): void {
    if (this.scratch.length > 0) {
      this.parts.push(Uint8Array.from(this.scratch))
      this.length += this.scratch.length
      this.scratch = []
    }
  }

  private tag(field: number, wireType: WireType): void {
    if (!Number.isInteger(field) || field < 1 || field > MAX_FIELD_NUMBER) throw new RangeError(`field number ${field}`)
    varintBytes(field * 8 + wireType, this.scratch)
  }

  /** A varint field; nothing for 0 unless `always` (repeated or oneof members are always written). */
  varint(field: number, value: number | bigint, always = false): this {
    if (!always && (value === 0 || value === 0n)) return this
    this.tag(field, WireType.varint)
    varintBytes(value, this.scratch)
    return this
  }

  bool(field: number, value: boolean, always = false): this {
    return this.varint(field, value ? 1 : 0, always)
  }

  double(field: number, value: number, always = false): this {
    if (!always && value === 0 && !Object.is(value, -0)) return this
    this.tag(field, WireType.fixed64)
    const b = new Uint8Array(8)
    new DataView(b.buffer).setFloat64(0, value, true)
    this.scratch.push(...b)
    return this
  }

  /** A length-delimited field; nothing for empty content unless `always`. */
  bytes(field: number, value: Uint8Array, always = false): this {
    if (!always && value.length === 0) return this
    this.tag(field, WireType.lengthDelimited)
    varintBytes(value.length, this.scratch)
    this.flushScratch()
    if (value.length > 0) {
      this.parts.push(value)
      this.length += value.length
    }
    return this
  }

  string(field: number, value: string, always = false): this {
    return this.bytes(field, utf8Encoder.encode(value), always)
  }

  /** An embedded message field (always written: a message field has presence). */
  message(field: number, encoded: Uint8Array): this {
    return this.bytes(field, encoded, true)
  }

  finish(): Uint8Array {
    this.flushScratch()
    if (this.parts.length === 1) return this.parts[0]!.slice()
    const out = new Uint8Array(this.length)
    let at = 0
    for (const p of this.parts) {
      out.set(p, at)
      at += p.length
    }
    return out
  }
}
