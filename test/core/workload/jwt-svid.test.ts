import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeJwtBundlesRequest,
  decodeJwtBundlesResponse,
  decodeJwtSvid,
  decodeJwtSvidRequest,
  decodeJwtSvidResponse,
  decodeValidateJwtSvidRequest,
  decodeValidateJwtSvidResponse,
  encodeJwtBundlesRequest,
  encodeJwtBundlesResponse,
  encodeJwtSvid,
  encodeJwtSvidRequest,
  encodeJwtSvidResponse,
  encodeValidateJwtSvidRequest,
  encodeValidateJwtSvidResponse,
} from '../../../core/workload/jwt-svid.ts'
import { encodeStruct } from '../../../core/workload/struct.ts'
import { ProtoWriter } from '../../../core/workload/wire.ts'
import {
  jwtBundlesResponse,
  jwtSvid,
  jwtSvidRequest,
  jwtSvidResponse,
  validateJwtSvidRequest,
  validateJwtSvidResponse,
} from './arbitraries.ts'
import { RUNS, decodesOrFailsStably, fromHex, hex, mutations } from './fuzz.ts'

describe('JWT-SVID profile messages', () => {
  it('encodes a JWTSVIDRequest with every audience, even an empty one (repeated fields have no default)', () => {
    const bytes = encodeJwtSvidRequest({ audience: ['a', ''], spiffeId: '' })
    expect(hex(bytes)).toBe('0a01610a00')
    expect(decodeJwtSvidRequest(bytes)).toEqual({ audience: ['a', ''], spiffeId: '' })
  })

  it('reads a JWTSVID with its hint (field 3)', () => {
    const bytes = new ProtoWriter().string(1, 'spiffe://td/w').string(2, 'h.p.s').string(3, 'external').finish()
    expect(decodeJwtSvid(bytes)).toEqual({ spiffeId: 'spiffe://td/w', svid: 'h.p.s', hint: 'external' })
  })

  it('ValidateJWTSVIDResponse: claims absent is undefined, an empty Struct is {}', () => {
    expect(decodeValidateJwtSvidResponse(new ProtoWriter().string(1, 's').finish())).toEqual({ spiffeId: 's', claims: undefined })
    expect(decodeValidateJwtSvidResponse(fromHex('0a01731200'))).toEqual({ spiffeId: 's', claims: {} })
  })

  it('ValidateJWTSVIDResponse: a claims field sent twice is merged (proto3 embedded message rule)', () => {
    const bytes = new ProtoWriter()
      .message(2, encodeStruct({ sub: 'spiffe://td/a', exp: 1 }))
      .message(2, encodeStruct({ exp: 2, aud: ['x'] }))
      .finish()
    expect(decodeValidateJwtSvidResponse(bytes).claims).toEqual({ sub: 'spiffe://td/a', exp: 2, aud: ['x'] })
  })

  it('the empty JWTBundlesRequest encodes to nothing', () => {
    expect(encodeJwtBundlesRequest()).toHaveLength(0)
    expect(decodeJwtBundlesRequest(fromHex('1001'))).toEqual({})
  })

  it('property: every JWT message round-trips', () => {
    fc.assert(
      fc.property(jwtSvidRequest, (m) => {
        expect(decodeJwtSvidRequest(encodeJwtSvidRequest(m))).toEqual(m)
      }),
      { numRuns: 500 },
    )
    fc.assert(
      fc.property(jwtSvid, (m) => {
        expect(decodeJwtSvid(encodeJwtSvid(m))).toEqual(m)
      }),
      { numRuns: 500 },
    )
    fc.assert(
      fc.property(jwtSvidResponse, (m) => {
        expect(decodeJwtSvidResponse(encodeJwtSvidResponse(m))).toEqual(m)
      }),
      { numRuns: 500 },
    )
    fc.assert(
      fc.property(jwtBundlesResponse, (m) => {
        expect(decodeJwtBundlesResponse(encodeJwtBundlesResponse(m))).toEqual(m)
      }),
      { numRuns: 500 },
    )
    fc.assert(
      fc.property(validateJwtSvidRequest, (m) => {
        expect(decodeValidateJwtSvidRequest(encodeValidateJwtSvidRequest(m))).toEqual(m)
      }),
      { numRuns: 500 },
    )
    fc.assert(
      fc.property(validateJwtSvidResponse, (m) => {
        expect(decodeValidateJwtSvidResponse(encodeValidateJwtSvidResponse(m))).toEqual(m)
      }),
      { numRuns: 500 },
    )
  })

  it('property: decoding any bytes gives a message or ERR_WORKLOAD_MALFORMED', () => {
    const cases: [fc.Arbitrary<Uint8Array>, (b: Uint8Array) => unknown][] = [
      [jwtSvidRequest.map(encodeJwtSvidRequest), decodeJwtSvidRequest],
      [jwtSvid.map(encodeJwtSvid), decodeJwtSvid],
      [jwtSvidResponse.map(encodeJwtSvidResponse), decodeJwtSvidResponse],
      [fc.constant(new Uint8Array()), decodeJwtBundlesRequest],
      [jwtBundlesResponse.map(encodeJwtBundlesResponse), decodeJwtBundlesResponse],
      [validateJwtSvidRequest.map(encodeValidateJwtSvidRequest), decodeValidateJwtSvidRequest],
      [validateJwtSvidResponse.map(encodeValidateJwtSvidResponse), decodeValidateJwtSvidResponse],
    ]
    for (const [valid, decode] of cases) {
      fc.assert(
        fc.property(mutations(valid), (b) => decodesOrFailsStably(() => decode(b))),
        { numRuns: RUNS },
      )
    }
  })
})
