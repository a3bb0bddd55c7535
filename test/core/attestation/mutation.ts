import fc from 'fast-check'

/** One mutation of real bytes: flip a bit, set a byte, truncate, extend, or splice a run out. */
export type Mutation =
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'set'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; extra: number[] }
  | { kind: 'cut'; at: number; len: number }

export const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat({ max: 7 }) }),
  fc.record({ kind: fc.constant('set' as const), at: fc.nat(), value: fc.nat({ max: 255 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), extra: fc.array(fc.nat({ max: 255 }), { minLength: 1, maxLength: 8 }) }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat(), len: fc.integer({ min: 1, max: 16 }) }),
)

export function mutate(bytes: Uint8Array, m: Mutation): Uint8Array {
  const n = bytes.length
  switch (m.kind) {
    case 'flip': {
      const out = bytes.slice()
      out[m.at % n]! ^= 1 << m.bit
      return out
    }
    case 'set': {
      const out = bytes.slice()
      out[m.at % n] = m.value
      return out
    }
    case 'truncate':
      return bytes.slice(0, m.at % n)
    case 'extend':
      return new Uint8Array([...bytes, ...m.extra])
    case 'cut': {
      const at = m.at % n
      return new Uint8Array([...bytes.subarray(0, at), ...bytes.subarray(Math.min(n, at + m.len))])
    }
  }
}

export const differs = (a: Uint8Array, b: Uint8Array) => a.length !== b.length || a.some((x, i) => x !== b[i])
