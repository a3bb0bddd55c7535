import { describe, expect, it } from 'vitest'
import { JwtSvidCache, jwtCacheKey } from '../../../agent/workload/jwt-cache.ts'

const token = (entryId: string, issuedAt: number, expiresAt: number) => ({
  entryId,
  spiffeId: `spiffe://td/${entryId}`,
  token: `t-${entryId}-${issuedAt}`,
  issuedAt,
  expiresAt,
})

describe('JwtSvidCache', () => {
  it('the key is the entry and the audience set', () => {
    expect(jwtCacheKey('e', ['b', 'a', 'b'])).toBe(jwtCacheKey('e', ['a', 'b']))
    expect(jwtCacheKey('e', ['a'])).not.toBe(jwtCacheKey('f', ['a']))
    expect(jwtCacheKey('e', ['a,b'])).not.toBe(jwtCacheKey('e', ['a', 'b']))
  })

  it('fresh until half the lifetime, valid until expiry', () => {
    const c = new JwtSvidCache(4)
    c.set('k', token('e', 1_000, 121_000), 1_000)
    expect(c.fresh('k', 60_999)).toBeDefined()
    expect(c.fresh('k', 61_000)).toBeUndefined()
    expect(c.valid('k', 120_999)).toBeDefined()
    expect(c.valid('k', 121_000)).toBeUndefined()
  })

  it('bounded: expired tokens go first, then the oldest; retain() forgets deleted entries', () => {
    const c = new JwtSvidCache(2)
    c.set('a', token('a', 0, 10), 0)
    c.set('b', token('b', 0, 1_000), 0)
    c.set('c', token('c', 0, 1_000), 20) // a has expired: it goes
    expect([c.valid('a', 0), c.valid('b', 20), c.valid('c', 20)].map(Boolean)).toEqual([false, true, true])
    c.set('d', token('d', 0, 1_000), 20) // none expired: the oldest (b) goes
    expect(c.size).toBe(2)
    expect([c.valid('b', 20), c.valid('c', 20), c.valid('d', 20)].map(Boolean)).toEqual([false, true, true])
    c.retain(new Set(['d']))
    expect(c.size).toBe(1)
    expect(() => new JwtSvidCache(0)).toThrow(RangeError)
  })
})
