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
        case 2: {
          const out = new Uint8Array(bytes.length + extra.length)
          out.set(bytes.subarray(0, i))
          out.set(extra, i)
          out.set(bytes.subarray(i), i + extra.length)
          return out
        }
        default: {
          const out = new Uint8Array(i + extra.length)
          out.set(bytes.subarray(0, i))
          out.set(extra, i)
          return out
        }
      }
    })
  return fc.oneof(fc.uint8Array({ maxLength: 200 }), mutated, valid)
}

/**
 * Runs a decoder: it returns, or throws a WorkloadError with one of the stable codes and a message.
 * (Checked by hand, not with expect: it runs tens of thousands of times per file.)
 */
export function decodesOrFailsStably(decode: () => unknown, codes: readonly string[] = ['ERR_WORKLOAD_MALFORMED']): void {
  try {
    decode()
  } catch (e) {
    if (!(e instanceof WorkloadError) || !codes.includes(e.code) || e.message.length === 0) {
      expect.fail(
        `expected a WorkloadError with one of ${codes.join(', ')}, got ${e instanceof Error ? `${e.name} ${(e as WorkloadError).code ?? ''}: ${e.message}` : String(e)}`,
      )
    }
  }
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
export const fromHex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'))
