import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeAny, encodeAny } from '../../../../core/workload/sds/any.ts'
import { SECRET_TYPE_URL } from '../../../../core/workload/sds/service.ts'
import { ProtoWriter } from '../../../../core/workload/wire.ts'
import { RUNS, decodesOrFailsStably, fromHex, hex, mutations } from '../fuzz.ts'
import { anyMessage } from './arbitraries.ts'

describe('google.protobuf.Any', () => {
  it('encodes type_url (1) then value (2)', () => {
    const bytes = encodeAny({ typeUrl: 't/x', value: fromHex('0801') })
    expect(hex(bytes)).toBe('0a03742f78120208 01'.replace(/ /g, ''))
    expect(decodeAny(bytes)).toEqual({ typeUrl: 't/x', value: fromHex('0801') })
  })

  it('the SDS type URL names the v3 Secret', () => {
    expect(SECRET_TYPE_URL).toBe('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret')
  })

  it('skips unknown fields; a string of the wrong wire type is skipped', () => {
    const bytes = new ProtoWriter().varint(1, 3).string(1, 'u').bytes(9, fromHex('00')).bytes(2, fromHex('ff')).finish()
    expect(decodeAny(bytes)).toEqual({ typeUrl: 'u', value: fromHex('ff') })
  })

  it('a truncated value is ERR_WORKLOAD_MALFORMED naming the field', () => {
    expect(() => decodeAny(fromHex('1205ff'))).toThrow(/google.protobuf.Any: value at offset 1 declares 5 bytes, 1 left/)
  })

  it('property: round trip', () => {
    fc.assert(
      fc.property(anyMessage, (m) => {
        expect(decodeAny(encodeAny(m))).toEqual(m)
      }),
      { numRuns: 1000 },
    )
  })

  it('property: any bytes decode or fail with ERR_WORKLOAD_MALFORMED', () => {
    fc.assert(
      fc.property(mutations(anyMessage.map(encodeAny)), (b) => decodesOrFailsStably(() => decodeAny(b))),
      { numRuns: RUNS },
    )
  })
})
