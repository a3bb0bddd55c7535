import { describe, expect, it } from 'vitest'
import { bytesEqual, timingSafeEqual } from '../../../core/bytes/equal.ts'

/** views of `n` bytes at every alignment, over identical content */
function views(n: number, seed: number): Uint8Array[] {
  const backing = new Uint8Array(n + 3)
  return [0, 1, 2, 3].map((o) => {
    const v = new Uint8Array(backing.buffer.slice(0), o, n)
    for (let i = 0; i < n; i++) v[i] = (i * 37 + seed) & 0xff
    return v
  })
}

describe('bytesEqual', () => {
  it('agrees with a byte loop at every length, alignment pair and differing position', () => {
    for (const n of [0, 1, 3, 4, 63, 64, 65, 67, 128, 1201]) {
      const as = views(n, 5)
      const bs = views(n, 5)
      for (const a of as) {
        for (const b of bs) {
          expect(bytesEqual(a, b), `n=${n} offsets ${a.byteOffset}/${b.byteOffset}`).toBe(true)
          for (const at of new Set([0, 1, n >> 1, n - 4, n - 3, n - 1].filter((x) => x >= 0 && x < n))) {
            const bent = b.slice()
            bent[at]! ^= 0x80
            expect(bytesEqual(a, bent), `n=${n} differs at ${at}`).toBe(false)
            expect(bytesEqual(bent, a)).toBe(false)
          }
        }
      }
    }
  })

  it('unequal lengths are unequal, equal prefix or not', () => {
    const a = views(100, 1)[0]!
    expect(bytesEqual(a, a.subarray(0, 99))).toBe(false)
    expect(bytesEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true)
  })
})

describe('timingSafeEqual', () => {
  it('equal, unequal at the last byte, unequal lengths', () => {
    const a = Uint8Array.from({ length: 32 }, (_, i) => i)
    const b = a.slice()
    expect(timingSafeEqual(a, b)).toBe(true)
    b[31]! ^= 1
    expect(timingSafeEqual(a, b)).toBe(false)
    expect(timingSafeEqual(a, a.subarray(1))).toBe(false)
  })
})
