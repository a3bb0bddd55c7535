import { describe, expect, it } from 'vitest'
import { MAX_PENDING, purgePending } from '../../../server/routes/attest.ts'

const entries = (expiries: number[]) => new Map(expiries.map((expiresAt, i) => [`s${i}`, { expiresAt }]))

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

  it('leaves a full map of live sessions whole', () => {
    const pending = entries(Array.from({ length: MAX_PENDING }, (_, i) => 300_000 + i))
    purgePending(pending, 300_000)
    expect(pending.size).toBe(MAX_PENDING)
  })
})
