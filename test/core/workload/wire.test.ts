import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { WorkloadError } from '../../../core/errors.ts'
import { ProtoReader, ProtoWriter, WireType } from '../../../core/workload/wire.ts'
import { RUNS, decodesOrFailsStably, fromHex, hex, mutations } from './fuzz.ts'

function fail(bytes: Uint8Array, read: (r: ProtoReader) => unknown): WorkloadError {
  try {
    read(new ProtoReader(bytes, 'Test'))
  } catch (e) {
    expect(e).toBeInstanceOf(WorkloadError)
    return e as WorkloadError
  }
  throw new Error('expected a WorkloadError')
}

/** Walks a message, skipping every field: what a decoder does with unknown fields. */
function skipAll(bytes: Uint8Array): number {
  const r = new ProtoReader(bytes, 'Test')
  let n = 0
  for (const k of r.fields()) {
    r.skipField(k)
    n++
  }
  return n
}

describe('protobuf varints', () => {
  it('reads the encodings of the protobuf documentation and the 64-bit edges', () => {
    expect(new ProtoReader(fromHex('96 01'.replace(/ /g, '')), 't').varint64()).toBe(150n)
    expect(new ProtoReader(fromHex('00'), 't').varint64()).toBe(0n)
    expect(new ProtoReader(fromHex('ffffffffffffffffff01'), 't').varint64()).toBe(2n ** 64n - 1n)
    // -1 as int32 is written as a 10-byte varint
    expect(new ProtoReader(fromHex('ffffffffffffffffff01'), 't').int32()).toBe(-1)
    // a non-canonical (padded) varint is still valid
    expect(new ProtoReader(fromHex('8080808000'), 't').varint64()).toBe(0n)
  })

  it('refuses a 10th byte above 1, an 11-byte varint and a truncated varint', () => {
    const over = fail(fromHex('ffffffffffffffffff02'), (r) => r.varint64())
    expect(over.code).toBe('ERR_WORKLOAD_MALFORMED')
    expect(over.message).toMatch(/overflows 64 bits/)
    expect(fail(fromHex('ffffffffffffffffff81'), (r) => r.varint64()).message).toMatch(/overflows 64 bits/)
    expect(fail(fromHex('8080'), (r) => r.varint64()).message).toMatch(/^Test: truncated varint at offset 0/)
    expect(fail(fromHex('808080808080'), (r) => r.varint64()).message).toMatch(/truncated/)
  })

  it('refuses a length or tag above 32 bits', () => {
    expect(fail(fromHex('8080808010'), (r) => r.uint32('len')).message).toMatch(/len at offset 0 does not fit 32 bits/)
    expect(new ProtoReader(fromHex('ffffffff0f'), 't').uint32()).toBe(0xffffffff)
  })

  it('round-trips every 64-bit value and every safe integer', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), (v) => {
        const bytes = new ProtoWriter().varint(1, v, true).finish()
        const r = new ProtoReader(bytes, 't')
        expect(r.key()).toEqual({ field: 1, wireType: WireType.varint })
        expect(r.varint64()).toBe(v)
        expect(r.done).toBe(true)
      }),
      { numRuns: 2000 },
    )
    fc.assert(
      fc.property(fc.maxSafeNat(), (v) => {
        const r = new ProtoReader(new ProtoWriter().varint(3, v, true).finish(), 't')
        r.key()
        expect(r.varint64()).toBe(BigInt(v))
      }),
      { numRuns: 2000 },
    )
  })

  it('writes a negative int32 as the 10-byte two’s complement, as protoc does', () => {
    expect(hex(new ProtoWriter().varint(1, -1).finish())).toBe('08ffffffffffffffffff01')
    expect(() => new ProtoWriter().varint(1, 1.5)).toThrow(RangeError)
  })
})

describe('protobuf fields', () => {
  it('reads the tag of the protobuf documentation example (field 1 varint 150)', () => {
    const r = new ProtoReader(fromHex('089601'), 't')
    expect(r.key()).toEqual({ field: 1, wireType: 0 })
    expect(r.varint64()).toBe(150n)
    expect(r.key()).toBeUndefined()
  })

  it('refuses field number 0 and wire types 6 and 7', () => {
    expect(fail(fromHex('0001'), (r) => r.key()).message).toMatch(/invalid field number 0 at offset 0/)
    expect(fail(fromHex('0e'), (r) => r.key()).message).toMatch(/invalid wire type 6/)
    expect(fail(fromHex('0f'), (r) => r.key()).message).toMatch(/invalid wire type 7/)
  })

  it('refuses a length past the end and names the field and offset', () => {
    const e = fail(fromHex('0a05616263'), (r) => {
      r.key()
      return r.lengthDelimited('spiffe_id')
    })
    expect(e.message).toBe('Test: spiffe_id at offset 1 declares 5 bytes, 3 left')
    expect(e.detail.offset).toBe(1)
  })

  it('refuses a string that is not UTF-8 (proto3 strings are UTF-8)', () => {
    const e = fail(fromHex('0a02c328'), (r) => {
      r.key()
      return r.string('hint')
    })
    expect(e.message).toMatch(/hint at offset 1 is not valid UTF-8/)
    const ok = new ProtoReader(new ProtoWriter().string(1, 'ünï 🙂').finish(), 't')
    ok.key()
    expect(ok.string()).toBe('ünï 🙂')
  })

  it('skips unknown fields of every wire type, groups included', () => {
    // varint, fixed64, length-delimited, group { varint }, fixed32
    const bytes = fromHex('08 01 11 0102030405060708 1a 02 6869 23 08 05 24 2d 01020304'.replace(/ /g, ''))
    expect(skipAll(bytes)).toBe(5)
  })

  it('refuses an unclosed group, a group closed with another number and a stray end-group', () => {
    expect(fail(fromHex('2308'), (r) => skipAllWith(r)).message).toMatch(/truncated/)
    expect(fail(fromHex('230801'), (r) => skipAllWith(r)).message).toMatch(/group 4 is not closed/)
    expect(fail(fromHex('23080134'), (r) => skipAllWith(r)).message).toMatch(/group 4 closed as 6/)
    expect(fail(fromHex('24'), (r) => skipAllWith(r)).message).toMatch(/unexpected end of group 4/)
  })

  it('bounds the nesting of groups', () => {
    const deep = new Uint8Array([...new Array(65).fill(0x0b), ...new Array(65).fill(0x0c)])
    expect(fail(deep, (r) => skipAllWith(r)).message).toMatch(/nest deeper than 64 levels/)
    const ok = new Uint8Array([...new Array(64).fill(0x0b), ...new Array(64).fill(0x0c)])
    expect(skipAll(ok)).toBe(1)
  })

  it('omits proto3 defaults unless asked, like protoc encoders', () => {
    expect(new ProtoWriter().string(1, '').bytes(2, new Uint8Array()).varint(3, 0).bool(4, false).double(5, 0).finish()).toHaveLength(0)
    expect(hex(new ProtoWriter().string(1, '', true).finish())).toBe('0a00')
    expect(hex(new ProtoWriter().double(2, 1.5).finish())).toBe('11000000000000f83f')
  })

  it('property: any bytes walked as a message give fields or ERR_WORKLOAD_MALFORMED', () => {
    const validish = fc
      .array(
        fc.oneof(
          fc
            .tuple(fc.integer({ min: 1, max: 2 ** 29 - 1 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }))
            .map(([f, v]) => new ProtoWriter().varint(f, v, true).finish()),
          fc
            .tuple(fc.integer({ min: 1, max: 100 }), fc.uint8Array({ maxLength: 20 }))
            .map(([f, v]) => new ProtoWriter().bytes(f, v, true).finish()),
          fc.tuple(fc.integer({ min: 1, max: 100 }), fc.double()).map(([f, v]) => new ProtoWriter().double(f, v, true).finish()),
        ),
        { maxLength: 6 },
      )
      .map((parts) => Uint8Array.from(parts.flatMap((p) => [...p])))
    fc.assert(
      fc.property(mutations(validish), (bytes) => decodesOrFailsStably(() => skipAll(bytes))),
      { numRuns: RUNS },
    )
  })
})

function skipAllWith(r: ProtoReader): void {
  for (const k of r.fields()) r.skipField(k)
}
