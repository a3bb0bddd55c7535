import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { backoffDelay } from '../../../runtimes/workload/watch.ts'

describe('Workload API stream backoff', () => {
  it('doubles from initialMs up to maxMs, jittered within the upper half', () => {
    expect([0, 1, 2, 3, 4, 5, 10, 100].map((n) => backoffDelay(n, 1000, 30_000, () => 0))).toEqual([
      500, 1000, 2000, 4000, 8000, 15_000, 15_000, 15_000,
    ])
    expect([0, 1, 2, 3, 4, 5, 10, 100].map((n) => backoffDelay(n, 1000, 30_000, () => 0.999_999))).toEqual(
      [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000].map((v) => expect.closeTo(v, 0)),
    )
  })

  it('property: every delay is within [ceiling/2, ceiling] and never above maxMs', () => {
    fc.assert(
      fc.property(
        fc.nat(2000),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, initial, extra, r) => {
          const max = initial + extra
          const d = backoffDelay(attempt, initial, max, () => r)
          const ceiling = Math.min(max, initial * 2 ** Math.min(attempt, 30))
          expect(d).toBeGreaterThanOrEqual(ceiling / 2)
          expect(d).toBeLessThanOrEqual(ceiling)
          expect(d).toBeLessThanOrEqual(max)
        },
      ),
      { numRuns: 2000 },
    )
  })
})
