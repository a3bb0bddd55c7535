/** Token buckets in a bounded LRU map: burst, refill, Retry-After, first-refusal flag, eviction. */
import { describe, expect, it } from 'vitest'
import { TokenBucketLimiter } from '../../server/rate-limit.ts'

describe('TokenBucketLimiter', () => {
  it('passes a burst, then refuses with the seconds until the next token; refills with the clock', () => {
    const clock = { t: 1_000_000 }
    const l = new TokenBucketLimiter({ burst: 3, ratePerSecond: 0.5 }, 10, () => clock.t)
    expect([l.take('a'), l.take('a'), l.take('a')].every((r) => r.ok)).toBe(true)
    expect(l.take('a')).toEqual({ ok: false, retryAfterSeconds: 2, first: true })
    expect(l.take('a')).toEqual({ ok: false, retryAfterSeconds: 2, first: false })
    expect(l.take('b').ok).toBe(true) // another key has its own bucket
    clock.t += 1000
    expect(l.take('a')).toEqual({ ok: false, retryAfterSeconds: 1, first: false })
    clock.t += 1000
    expect(l.take('a').ok).toBe(true)
    expect(l.take('a')).toMatchObject({ ok: false, first: true })
    clock.t += 60_000 // a long rest refills to the burst, not beyond
    expect([l.take('a'), l.take('a'), l.take('a'), l.take('a')].map((r) => r.ok)).toEqual([true, true, true, false])
  })

  it('holds at most maxKeys buckets whatever the number of keys; the least recently used goes first', () => {
    const l = new TokenBucketLimiter({ burst: 1, ratePerSecond: 0.001 }, 100, () => 0)
    expect(l.take('keep').ok).toBe(true)
    for (let i = 0; i < 5000; i++) {
      l.take(`k${i}`)
      if (i % 50 === 0) expect(l.take('keep').ok).toBe(false) // used often: never evicted, still empty
    }
    expect(l.size).toBe(100)
    // k0 was evicted long ago: it comes back with a full bucket
    expect(l.take('k0').ok).toBe(true)
  })

  it('refuses bad rules', () => {
    expect(() => new TokenBucketLimiter({ burst: 0, ratePerSecond: 1 }, 1, () => 0)).toThrow(RangeError)
    expect(() => new TokenBucketLimiter({ burst: 1, ratePerSecond: 0 }, 1, () => 0)).toThrow(RangeError)
    expect(() => new TokenBucketLimiter({ burst: 1, ratePerSecond: 1 }, 0, () => 0)).toThrow(RangeError)
  })
})
