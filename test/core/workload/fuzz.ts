/**
 * Shared arbitraries for the Workload API codec property tests: random bytes, and valid encodings
 * mutated (truncated, a byte flipped, bytes inserted or spliced), which reach far deeper into a
 * decoder than random bytes do.
 */
import fc from 'fast-check'
import { expect } from 'vitest'
import { WorkloadError } from '../../../core/errors.ts'

export const RUNS = 10_000

export function mutations(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  const mutated = fc
    .tuple(valid, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.uint8Array({ maxLength: 12 }), fc.integer({ min: 0, max: 3 }))
    .map(([bytes, at, value, extra, kind]) => {
      if (bytes.length === 0) return extra
      const i = at % bytes.length
      switch (kind) {
        case 0:
          return bytes.subarray(0, i)
        case 1: {
          const out = bytes.slice()
          out[i] = value
          return out
        }
        case 2:
          return Uint8Array.from([...bytes.subarray(0, i), ...extra, ...bytes.subarray(i)])
        default:
          return Uint8Array.from([...bytes.subarray(0, i), ...extra])
      }
    })
  return fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated, valid)
}

/** Runs a decoder: it returns, or throws a WorkloadError with one of the stable codes. */
export function decodesOrFailsStably(decode: () => unknown, codes: readonly string[] = ['ERR_WORKLOAD_MALFORMED']): void {
  try {
    decode()
  } catch (e) {
    expect(e).toBeInstanceOf(WorkloadError)
    expect(codes).toContain((e as WorkloadError).code)
    expect((e as WorkloadError).message.length).toBeGreaterThan(0)
  }
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
export const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'))
