import { Tpm2Error, type VerifyError } from '../errors.ts'

/** Builds the error a reader throws; lets each structure family keep its own code. */
export type ReaderErrorFactory = (message: string, offset: number) => VerifyError

const tpm2Malformed: ReaderErrorFactory = (message, offset) => new Tpm2Error('ERR_TPM2_MALFORMED', message, { detail: { offset } })

/**
 * A bounds-checked cursor over bytes, big-endian by default (TPM 2.0 Part 1 §10.3: all TPM integers
 * are big-endian; TCG event logs and UEFI structures pass `littleEndian`). Every read either
 * returns a value or throws a VerifyError naming the structure (`what`) and the offset; no read
 * can throw RangeError or read past the end.
 */
export class ByteReader {
  // declared, assigned in the constructor: see DerElement (core/der/reader.ts)
  declare readonly bytes: Uint8Array
  declare readonly what: string
  declare private pos: number
  declare private readonly view: DataView
  declare private readonly fail: ReaderErrorFactory
  declare private readonly le: boolean

  constructor(bytes: Uint8Array, what: string, fail: ReaderErrorFactory = tpm2Malformed, littleEndian = false) {
    this.bytes = bytes
    this.what = what
    this.fail = fail
    this.le = littleEndian
    this.pos = 0
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  }

  get offset(): number {
    return this.pos
  }

  get remaining(): number {
    return this.bytes.length - this.pos
  }

  private need(n: number, field: string): void {
    if (n > this.remaining) {
      throw this.fail(`${this.what}: truncated ${field} at offset ${this.pos}: need ${n} bytes, ${this.remaining} left`, this.pos)
    }
  }

  u8(field = 'u8'): number {
    this.need(1, field)
    return this.view.getUint8(this.pos++)
  }

  u16(field = 'u16'): number {
    this.need(2, field)
    const v = this.view.getUint16(this.pos, this.le)
    this.pos += 2
    return v
  }

  u32(field = 'u32'): number {
    this.need(4, field)
    const v = this.view.getUint32(this.pos, this.le)
    this.pos += 4
    return v
  }

  u64(field = 'u64'): bigint {
    this.need(8, field)
    const v = this.view.getBigUint64(this.pos, this.le)
    this.pos += 8
    return v
  }

  /** `n` bytes as a subarray view (no copy). */
  take(n: number, field = 'bytes'): Uint8Array {
    this.need(n, field)
    const out = this.bytes.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  /** A TPM2B: u16 size then that many bytes; `max` is the structure's bound from Part 2. */
  sized(field: string, max = 0xffff): Uint8Array {
    const size = this.u16(`${field} size`)
    if (size > max) {
      throw this.fail(`${this.what}: ${field} size ${size} exceeds the maximum of ${max}`, this.pos - 2)
    }
    return this.take(size, field)
  }

  /** The reader's error for a structure-level fault found by the caller (`what: message`). */
  error(message: string, offset = this.pos): VerifyError {
    return this.fail(`${this.what}: ${message}`, offset)
  }

  /** Throws unless every byte was consumed. */
  expectEnd(): void {
    if (this.remaining !== 0) {
      throw this.fail(`${this.what}: ${this.remaining} trailing bytes after offset ${this.pos}`, this.pos)
    }
  }
}
