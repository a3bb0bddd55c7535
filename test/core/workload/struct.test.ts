import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeListValue, decodeStruct, decodeValue, encodeStruct, encodeValue } from '../../../core/workload/struct.ts'
import { ProtoWriter } from '../../../core/workload/wire.ts'
import { jsonObject, jsonValue } from './arbitraries.ts'
import { RUNS, decodesOrFailsStably, fromHex, hex, mutations } from './fuzz.ts'

describe('google.protobuf.Struct claims', () => {
  it('encodes each Value kind with its field number', () => {
    expect(hex(encodeValue(null))).toBe('0800')
    expect(hex(encodeValue(1))).toBe('11000000000000f03f')
    expect(hex(encodeValue('a'))).toBe('1a0161')
    expect(hex(encodeValue(true))).toBe('2001')
    expect(hex(encodeValue(false))).toBe('2000')
    expect(hex(encodeValue({}))).toBe('2a00')
    expect(hex(encodeValue([]))).toBe('3200')
  })

  it('a __proto__ claim is an own key, never the prototype', () => {
    const claims = decodeStruct(encodeStruct(JSON.parse('{"__proto__": {"polluted": true}, "sub": "x"}')))
    expect(Object.getPrototypeOf(claims)).toBe(Object.prototype)
    expect(Object.keys(claims)).toEqual(['__proto__', 'sub'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect((claims as Record<string, unknown>).polluted).toBeUndefined()
  })

  it('a Value with no kind set is malformed, also as a map entry without a value', () => {
    expect(() => decodeValue(new Uint8Array())).toThrow(/google.protobuf.Value has no kind set/)
    const entry = new ProtoWriter().string(1, 'k').finish()
    expect(() => decodeStruct(new ProtoWriter().message(1, entry).finish())).toThrow(/field "k": google.protobuf.Value has no kind set/)
  })

  it('the last oneof member wins; the same message member twice is merged', () => {
    const v = new ProtoWriter().string(3, 'a').bool(4, true).finish()
    expect(decodeValue(v)).toBe(true)
    const s1 = encodeStruct({ a: 1 })
    const s2 = encodeStruct({ b: 2 })
    expect(decodeValue(new ProtoWriter().message(5, s1).message(5, s2).finish())).toEqual({ a: 1, b: 2 })
    expect(decodeValue(new ProtoWriter().message(5, s1).string(3, 'x').message(5, s2).finish())).toEqual({ b: 2 })
    const l1 = new ProtoWriter().message(1, encodeValue(1)).finish()
    expect(decodeValue(new ProtoWriter().message(6, l1).message(6, l1).finish())).toEqual([1, 1])
    expect(decodeValue(new ProtoWriter().message(6, l1).message(5, s1).finish())).toEqual({ a: 1 })
  })

  it('bounds nesting at 64 levels in both directions', () => {
    let deep: unknown = 'x'
    for (let i = 0; i < 70; i++) deep = [deep]
    expect(() => encodeValue(deep as never)).toThrow(RangeError)
    let bytes = encodeValue('x')
    for (let i = 0; i < 70; i++) bytes = new ProtoWriter().message(6, new ProtoWriter().message(1, bytes).finish()).finish()
    expect(() => decodeValue(bytes)).toThrow(/nest deeper than 64 levels/)
    let ok: unknown = 'x'
    for (let i = 0; i < 20; i++) ok = [ok]
    expect(decodeValue(encodeValue(ok as never))).toEqual(ok)
  })

  it('decodes a ListValue on its own', () => {
    expect(decodeListValue(fromHex('0a020800'))).toEqual([null])
  })

  it('property: JSON values round-trip (numbers as doubles, NaN and infinities included)', () => {
    fc.assert(
      fc.property(jsonValue, (v) => {
        expect(decodeValue(encodeValue(v))).toEqual(v)
      }),
      { numRuns: 2000 },
    )
    fc.assert(
      fc.property(jsonObject, (o) => {
        expect(decodeStruct(encodeStruct(o))).toEqual(o)
      }),
      { numRuns: 2000 },
    )
  })

  it('property: decoding any bytes gives a JSON value or ERR_WORKLOAD_MALFORMED', () => {
    fc.assert(
      fc.property(mutations(jsonObject.map((o) => encodeStruct(o))), (b) => decodesOrFailsStably(() => decodeStruct(b))),
      { numRuns: RUNS },
    )
    fc.assert(
      fc.property(mutations(jsonValue.map((v) => encodeValue(v))), (b) => decodesOrFailsStably(() => decodeValue(b))),
      { numRuns: RUNS },
    )
  })
})
