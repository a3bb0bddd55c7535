import { describe, expect, it } from 'vitest'
import { MAX_PENDING, purgePending } from '../../../server/routes/attest.ts'

const entries = (expiries: number[]) => new Map(expiries.map((expiresAt, i) => [`s${i}`, { startedAt: 0, expiresAt }]))

describe('purgePending (the answer metrics of started sessions)', () => {
  it('removes the entries whose session expired more than a minute ago, in start order', () => {
    const pending = entries([1_000, 2_000, 3_000, 70_000])
    purgePending(pending, 62_000)
    expect([...pending.keys()]).toEqual(['s2', 's3'])
    purgePending(pending, 63_000)
    expect([...pending.keys()]).toEqual(['s3'])
    purgePending(pending, 130_000)
    expect(pending.size).toBe(0)
  })

  it('stops at the first entry still kept: one that finished out of order goes at a later start', () => {
    const pending = entries([1_000, 5_000, 4_000, 6_000])
    purgePending(pending, 64_500)
    expect([...pending.keys()]).toEqual(['s1', 's2', 's3'])
    purgePending(pending, 65_000)
    expect([...pending.keys()]).toEqual(['s3'])
  })

  it('a start while the wall clock was ahead (stepped back since) does not hold up the purge of the starts after it', () => {
    const ttl = 60_000
    const t = 1_800_000_000_000
    const hour = 3_600_000
    const pending = new Map([['ahead', { startedAt: t + hour, expiresAt: t + hour + ttl }]])
    for (let i = 0; i < 100; i++) pending.set(`s${i}`, { startedAt: t + i, expiresAt: t + i + ttl })
    // two minutes later (well before the clock reaches the step): every session after the step expired over a minute ago
    purgePending(pending, t + 2 * ttl + 100)
    expect([...pending.keys()]).toEqual([])
  })

  it('keeps an entry started less than a minute ahead of now (a small step back), and the entries after it, until they expire', () => {
    const pending = new Map([
      ['a', { startedAt: 10_000, expiresAt: 70_000 }],
      ['b', { startedAt: 5_000, expiresAt: 65_000 }],
    ])
    purgePending(pending, 9_000)
    expect([...pending.keys()]).toEqual(['a', 'b'])
    purgePending(pending, 130_000)
    expect(pending.size).toBe(0)
  })

  it('leaves a full map of live sessions whole', () => {
    const pending = entries(Array.from({ length: MAX_PENDING }, (_, i) => 300_000 + i))
    purgePending(pending, 300_000)
    expect(pending.size).toBe(MAX_PENDING)
  })
})
