import { describe, expect, it } from 'vitest'
import { ByteReader } from '../../../core/bytes/reader.ts'
import { ByteWriter } from '../../../core/bytes/writer.ts'
import { timingSafeEqual } from '../../../core/bytes/equal.ts'
import { Tpm2Error } from '../../../core/errors.ts'

describe('ByteReader / ByteWriter', () => {
  it('round-trips big-endian integers and TPM2B', () => {
    const w = new ByteWriter()
      .u8(1)
      .u16(0x0203)
      .u32(0x04050607)
      .u64(0x08090a0b0c0d0e0fn)
      .sized(new Uint8Array([9, 9]))
    const r = new ByteReader(w.finish(), 'test')
    expect([r.u8(), r.u16(), r.u32(), r.u64()]).toEqual([1, 0x0203, 0x04050607, 0x08090a0b0c0d0e0fn])
    expect(r.sized('blob')).toEqual(new Uint8Array([9, 9]))
    expect(() => r.expectEnd()).not.toThrow()
  })

  it('names the structure, field and offset when truncated', () => {
    const r = new ByteReader(new Uint8Array([0, 5, 1]), 'TPM2B_DIGEST')
    expect(() => r.sized('buffer')).toThrow(Tpm2Error)
    expect(() => new ByteReader(new Uint8Array([0, 5, 1]), 'TPM2B_DIGEST').sized('buffer')).toThrow(
      'TPM2B_DIGEST: truncated buffer at offset 2: need 5 bytes, 1 left',
    )
  })

  it('enforces TPM2B maximums and trailing bytes', () => {
    expect(() => new ByteReader(new Uint8Array([0, 3, 1, 2, 3]), 'X').sized('f', 2)).toThrow('X: f size 3 exceeds the maximum of 2')
    const r = new ByteReader(new Uint8Array([1, 2]), 'X')
    r.u8()
    expect(() => r.expectEnd()).toThrow('X: 1 trailing bytes after offset 1')
  })

  it('timingSafeEqual compares by value', () => {
    expect(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 2]))).toBe(true)
    expect(timingSafeEqual(new Uint8Array([1, 2]), new Uint8Array([1, 3]))).toBe(false)
    expect(timingSafeEqual(new Uint8Array([1]), new Uint8Array([1, 2]))).toBe(false)
  })
})
