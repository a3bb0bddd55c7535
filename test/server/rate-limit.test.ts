/** Token buckets in a bounded LRU map: burst, refill, Retry-After, first-refusal flag, eviction. */
import { describe, expect, it } from 'vitest'
import { addressRateKey, TokenBucketLimiter } from '../../server/rate-limit.ts'

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

describe('addressRateKey', () => {
  it('keys IPv6 clients by their /64, IPv4 (and IPv4-mapped) clients by the address', () => {
    expect(addressRateKey('2001:db8::1')).toBe('2001:db8:0:0::/64')
    expect(addressRateKey('2001:db8::ffff:2')).toBe(addressRateKey('2001:db8::1'))
    expect(addressRateKey('2001:db8:0:0:1:2:3:4')).toBe('2001:db8:0:0::/64')
    expect(addressRateKey('2001:0db8:0000:0001::9')).toBe('2001:db8:0:1::/64')
    expect(addressRateKey('2001:db8:0:1::9')).not.toBe(addressRateKey('2001:db8::1'))
    expect(addressRateKey('::1')).toBe('0:0:0:0::/64')
    expect(addressRateKey('::ffff:127.0.0.1')).toBe('127.0.0.1')
    expect(addressRateKey('127.0.0.1')).toBe('127.0.0.1')
    expect(addressRateKey('unknown')).toBe('unknown')
    expect(addressRateKey('fe80::1%eth0')).toBe('fe80::1%eth0') // not a plain address: kept whole
  })

  it('one /64 shares one bucket however many addresses it uses', () => {
    const l = new TokenBucketLimiter({ burst: 3, ratePerSecond: 0.001 }, 100, () => 0)
    const results = Array.from({ length: 10 }, (_, i) => l.take(addressRateKey(`2001:db8::${(i + 1).toString(16)}`)).ok)
    expect(results).toEqual([true, true, true, false, false, false, false, false, false, false])
    expect(l.size).toBe(1)
  })
})
