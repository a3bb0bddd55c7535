import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { WorkloadError } from '../../../core/errors.ts'
import { GrpcDeframer, frameMessage } from '../../../core/workload/grpc-frame.ts'
import { RUNS, decodesOrFailsStably, fromHex, hex } from './fuzz.ts'

/** Cuts bytes at the given points (sorted, deduplicated) into chunks. */
function chunk(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b)
  const out: Uint8Array[] = []
  let at = 0
  for (const p of points) {
    out.push(bytes.subarray(at, p))
    at = p
  }
  out.push(bytes.subarray(at))
  return out
}

function failure(run: () => unknown): WorkloadError {
  try {
    run()
  } catch (e) {
    expect(e).toBeInstanceOf(WorkloadError)
    return e as WorkloadError
  }
  throw new Error('expected a WorkloadError')
}

describe('gRPC length-prefixed messages', () => {
  it('prefixes a message with flag 0 and its big-endian length', () => {
    expect(hex(frameMessage(fromHex('0a0161')))).toBe('00000000030a0161')
    expect(hex(frameMessage(new Uint8Array()))).toBe('0000000000')
  })

  it('reads messages across chunks, an empty message included', () => {
    const d = new GrpcDeframer()
    expect(d.push(fromHex('0000'))).toEqual([])
    expect(d.push(fromHex('000002aa'))).toEqual([])
    expect(d.pendingBytes).toBe(6)
    expect(d.push(fromHex('bb0000000000'))).toEqual([fromHex('aabb'), new Uint8Array()])
    expect(d.pendingBytes).toBe(0)
    d.finish()
  })

  it('refuses the compressed flag (no grpc-encoding is negotiated) and any other flag value', () => {
    const e = failure(() => new GrpcDeframer().push(fromHex('0100000001aa')))
    expect(e.code).toBe('ERR_WORKLOAD_FRAME_INVALID')
    expect(e.message).toBe('gRPC message: compressed flag set, but no grpc-encoding was negotiated')
    expect(failure(() => new GrpcDeframer().push(fromHex('8000000000'))).message).toBe('gRPC message: compressed flag is 128, expected 0')
  })

  it('refuses a length above the bound before the message arrives, and stays failed', () => {
    const d = new GrpcDeframer(16)
    const e = failure(() => d.push(fromHex('0000000011')))
    expect(e.code).toBe('ERR_INPUT_TOO_LARGE')
    expect(e.message).toBe('gRPC message: 17 bytes, more than the bound of 16')
    expect(failure(() => d.push(fromHex('00'))).code).toBe('ERR_INPUT_TOO_LARGE')
    expect(new GrpcDeframer(16).push(frameMessage(new Uint8Array(16)))).toHaveLength(1)
    // the default is gRPC's 4 MiB
    expect(failure(() => new GrpcDeframer().push(fromHex('0000400001'))).code).toBe('ERR_INPUT_TOO_LARGE')
  })

  it('refuses a body that ends inside a message', () => {
    const d = new GrpcDeframer()
    d.push(fromHex('0000000002aa'))
    const e = failure(() => d.finish())
    expect(e.code).toBe('ERR_WORKLOAD_FRAME_INVALID')
    expect(e.message).toBe('gRPC stream ended inside a length-prefixed message')
    expect(() => new GrpcDeframer().push(fromHex('00'))).not.toThrow()
  })

  it('refuses a bad bound', () => {
    expect(() => new GrpcDeframer(-1)).toThrow(RangeError)
    expect(() => new GrpcDeframer(2 ** 32)).toThrow(RangeError)
  })

  it('property: messages framed and cut anywhere come back whole and in order', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 6 }), fc.array(fc.nat(), { maxLength: 8 }), (messages, cuts) => {
        const body = Uint8Array.from(messages.flatMap((m) => [...frameMessage(m)]))
        const d = new GrpcDeframer(64)
        const got = chunk(body, cuts).flatMap((c) => d.push(c))
        d.finish()
        expect(got).toEqual(messages)
      }),
      { numRuns: 2000 },
    )
  })

  it('property: any body in any chunks gives messages or a stable error', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.array(fc.nat(), { maxLength: 5 }), (body, cuts) => {
        const d = new GrpcDeframer(32)
        decodesOrFailsStably(() => {
          for (const c of chunk(body, cuts)) for (const m of d.push(c)) expect(m.length).toBeLessThanOrEqual(32)
          d.finish()
        }, ['ERR_WORKLOAD_FRAME_INVALID', 'ERR_INPUT_TOO_LARGE'])
      }),
      { numRuns: RUNS },
    )
  })
})
