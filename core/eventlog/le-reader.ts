import { type ErrorCode, EventLogError } from '../errors.ts'

/**
 * A bounds-checked little-endian cursor (TCG PC Client Platform Firmware Profile §10.2: event log
 * integers are little-endian, UEFI structures too). Every read returns a value or throws an
 * EventLogError with `code`, naming the structure and the offset; no read can throw RangeError.
 */
export class LeReader {
  declare readonly bytes: Uint8Array
  declare readonly what: string
  declare private pos: number
  declare private readonly view: DataView
  declare private readonly code: ErrorCode

  constructor(bytes: Uint8Array, what: string, code: ErrorCode = 'ERR_EVENTLOG_EVENT_DATA') {
    this.bytes = bytes
    this.what = what
    this.code = code
    this.pos = 0
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  get offset(): number {
    return this.pos
  }

  get remaining(): number {
    return this.bytes.length - this.pos
  }

  fail(message: string, offset = this.pos): EventLogError {
    return new EventLogError(this.code, `${this.what}: ${message}`, { detail: { offset } })
  }

  private need(n: number, field: string): void {
    if (n > this.remaining) throw this.fail(`truncated ${field} at offset ${this.pos}: need ${n} bytes, ${this.remaining} left`)
  }

  u8(field: string): number {
    this.need(1, field)
    return this.view.getUint8(this.pos++)
  }

  u16(field: string): number {
    this.need(2, field)
    const v = this.view.getUint16(this.pos, true)
    this.pos += 2
    return v
  }

  u32(field: string): number {
    this.need(4, field)
    const v = this.view.getUint32(this.pos, true)
    this.pos += 4
    return v
  }

  /** A UINT64 that must fit `max` (sizes and counts): larger values are malformed, not truncated. */
  u64(field: string, max = Number.MAX_SAFE_INTEGER): number {
    this.need(8, field)
    const v = this.view.getBigUint64(this.pos, true)
    if (v > BigInt(max)) throw this.fail(`${field} ${v} exceeds ${max}`)
    this.pos += 8
    return Number(v)
  }

  /** A UINT64 kept whole (addresses). */
  u64Big(field: string): bigint {
    this.need(8, field)
    const v = this.view.getBigUint64(this.pos, true)
    this.pos += 8
    return v
  }

  /** `n` bytes as a view (no copy). */
  take(n: number, field: string): Uint8Array {
    this.need(n, field)
    const out = this.bytes.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  expectEnd(): void {
    if (this.remaining !== 0) throw this.fail(`${this.remaining} trailing bytes at offset ${this.pos}`)
  }
}
