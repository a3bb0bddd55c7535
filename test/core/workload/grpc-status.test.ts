import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  GrpcStatus,
  MAX_GRPC_MESSAGE_CHARS,
  decodeGrpcMessage,
  encodeGrpcMessage,
  grpcStatusFromHttp,
  grpcStatusName,
  parseGrpcStatus,
} from '../../../core/workload/grpc-status.ts'

describe('gRPC status', () => {
  it('has the 17 codes of grpc statuscodes.md', () => {
    expect(GrpcStatus.OK).toBe(0)
    expect(GrpcStatus.INVALID_ARGUMENT).toBe(3)
    expect(GrpcStatus.PERMISSION_DENIED).toBe(7)
    expect(GrpcStatus.UNAVAILABLE).toBe(14)
    expect(GrpcStatus.UNAUTHENTICATED).toBe(16)
    expect(Object.values(GrpcStatus)).toEqual([...Array(17).keys()])
    expect(grpcStatusName(7)).toBe('PERMISSION_DENIED')
    expect(grpcStatusName(17)).toBe('UNKNOWN')
    expect(grpcStatusName(-1)).toBe('UNKNOWN')
  })

  it('parses grpc-status: decimal codes only, anything else is UNKNOWN', () => {
    expect(parseGrpcStatus('0')).toBe(0)
    expect(parseGrpcStatus('14')).toBe(14)
    expect(parseGrpcStatus('16')).toBe(16)
    for (const bad of [undefined, '', '17', '99', '-1', '1.0', ' 3', '0x3', '003', 'OK'])
      expect(parseGrpcStatus(bad)).toBe(GrpcStatus.UNKNOWN)
  })

  it('maps HTTP statuses of a response without grpc-status', () => {
    expect(grpcStatusFromHttp(400)).toBe(GrpcStatus.INTERNAL)
    expect(grpcStatusFromHttp(401)).toBe(GrpcStatus.UNAUTHENTICATED)
    expect(grpcStatusFromHttp(403)).toBe(GrpcStatus.PERMISSION_DENIED)
    expect(grpcStatusFromHttp(404)).toBe(GrpcStatus.UNIMPLEMENTED)
    for (const s of [429, 502, 503, 504]) expect(grpcStatusFromHttp(s)).toBe(GrpcStatus.UNAVAILABLE)
    expect(grpcStatusFromHttp(500)).toBe(GrpcStatus.UNKNOWN)
    expect(grpcStatusFromHttp(200)).toBe(GrpcStatus.UNKNOWN)
  })

  it('percent-encodes grpc-message: %, controls and non-ASCII; printable ASCII stays', () => {
    expect(encodeGrpcMessage('no SVID for uid 1000')).toBe('no SVID for uid 1000')
    expect(encodeGrpcMessage('100%')).toBe('100%25')
    expect(encodeGrpcMessage('a\nb')).toBe('a%0Ab')
    expect(encodeGrpcMessage('ünï')).toBe('%C3%BCn%C3%AF')
    expect(decodeGrpcMessage('%C3%BCn%C3%AF')).toBe('ünï')
  })

  it('decodes leniently: a bad % sequence stays, bad UTF-8 becomes U+FFFD, the length is bounded', () => {
    expect(decodeGrpcMessage('100%')).toBe('100%')
    expect(decodeGrpcMessage('%zz%4')).toBe('%zz%4')
    expect(decodeGrpcMessage('%FF')).toBe('\uFFFD')
    expect(decodeGrpcMessage(undefined)).toBe('')
    expect(decodeGrpcMessage('a'.repeat(10_000))).toHaveLength(MAX_GRPC_MESSAGE_CHARS)
    expect(decodeGrpcMessage('%41'.repeat(5000))).toHaveLength(MAX_GRPC_MESSAGE_CHARS)
  })

  it('property: any well-formed string round-trips through grpc-message, as printable ASCII', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 60 }), (s) => {
        const encoded = encodeGrpcMessage(s)
        expect(encoded).toMatch(/^[\x20-\x7e]*$/)
        expect(decodeGrpcMessage(encoded)).toBe(s)
      }),
      { numRuns: 2000 },
    )
  })

  it('property: decoding any header value returns a bounded string', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.integer({ min: 1, max: 50 }), (v, max) => {
        const out = decodeGrpcMessage(v, max)
        expect(typeof out).toBe('string')
        expect(out.length).toBeLessThanOrEqual(max)
      }),
      { numRuns: 10_000 },
    )
  })
})
