/** A growable big-endian byte writer for TPM structures and commands. */
export class ByteWriter {
  // declared, assigned in the constructor: see DerElement (core/der/reader.ts)
  declare private buf: Uint8Array
  declare private len: number

  /** `capacity`: the expected size, when known (saves regrowing) */
  constructor(capacity = 64) {
    this.buf = new Uint8Array(capacity)
    this.len = 0
  }

  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return
    let size = this.buf.length * 2
    while (size < this.len + n) size *= 2
    const next = new Uint8Array(size)
    next.set(this.buf.subarray(0, this.len))
    this.buf = next
  }

  u8(v: number): this {
    this.ensure(1)
    this.buf[this.len++] = v & 0xff
    return this
  }

  u16(v: number): this {
    this.ensure(2)
    this.buf[this.len++] = (v >>> 8) & 0xff
    this.buf[this.len++] = v & 0xff
    return this
  }

  u32(v: number): this {
    this.ensure(4)
    this.buf[this.len++] = (v >>> 24) & 0xff
    this.buf[this.len++] = (v >>> 16) & 0xff
    this.buf[this.len++] = (v >>> 8) & 0xff
    this.buf[this.len++] = v & 0xff
    return this
  }

  u64(v: bigint): this {
    this.u32(Number((v >> 32n) & 0xffffffffn))
    return this.u32(Number(v & 0xffffffffn))
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length)
    this.buf.set(b, this.len)
    this.len += b.length
    return this
  }

  /** A TPM2B: u16 size, then the bytes. */
  sized(b: Uint8Array): this {
    if (b.length > 0xffff) throw new RangeError(`TPM2B content of ${b.length} bytes exceeds 65535`)
    return this.u16(b.length).bytes(b)
  }

  get length(): number {
    return this.len
  }

  /** Overwrite a u32 at `offset` (command/response size fields). */
  patchU32(offset: number, v: number): this {
    this.buf[offset] = (v >>> 24) & 0xff
    this.buf[offset + 1] = (v >>> 16) & 0xff
    this.buf[offset + 2] = (v >>> 8) & 0xff
    this.buf[offset + 3] = v & 0xff
    return this
  }

  /** The bytes written (the buffer itself when it is exactly full, else a copy). */
  finish(): Uint8Array<ArrayBuffer> {
    const out = this.len === this.buf.length ? this.buf : this.buf.slice(0, this.len)
    this.buf = new Uint8Array(0)
    this.len = 0
    return out as Uint8Array<ArrayBuffer>
  }
}
