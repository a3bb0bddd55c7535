import { describe, expect, it } from 'vitest'
import { AttestationError } from '../../../core/errors.ts'
import { SESSION_EXPIRED } from '../../../core/messages.ts'
import { createMemoryUseOnceStore } from '../../../core/session/use-once.ts'

const tooLate = (e: unknown) => e instanceof AttestationError && e.code === 'ERR_SESSION_EXPIRED' && e.message === SESSION_EXPIRED

describe('in-memory use-once store', () => {
  it('claim is true only the first time', async () => {
    const s = createMemoryUseOnceStore({ now: () => 0 })
    expect(await s.claim('a', 100)).toBe(true)
    expect(await s.claim('a', 100)).toBe(false)
    expect(await s.claim('b', 100)).toBe(true)
    expect(await s.size()).toBe(2)
  })

  it('concurrent claims of one id: exactly one true', async () => {
    const s = createMemoryUseOnceStore({ now: () => 0 })
    const results = await Promise.all(Array.from({ length: 50 }, () => s.claim('x', 100)))
    expect(results.filter(Boolean)).toHaveLength(1)
  })

  it('records outlive expiry by the grace, then are purged', async () => {
    let t = 0
    const s = createMemoryUseOnceStore({ now: () => t, graceMs: 50 })
    expect(await s.claim('a', 100)).toBe(true)
    t = 149
    expect(await s.claim('a', 100)).toBe(false)
    t = 150
    expect(await s.size()).toBe(0)
  })

  it('bounded: full of live records, a claim fails with ERR_SESSION_STORE_FULL; expired ones make room', async () => {
    let t = 0
    const s = createMemoryUseOnceStore({ now: () => t, capacity: 3, graceMs: 10 })
    for (const id of ['a', 'b', 'c']) expect(await s.claim(id, 100)).toBe(true)
    await expect(s.claim('d', 100)).rejects.toSatisfy((e) => e instanceof AttestationError && e.code === 'ERR_SESSION_STORE_FULL')
    expect(await s.claim('a', 100)).toBe(false)
    t = 111
    expect(await s.claim('d', 200)).toBe(true)
    expect(await s.size()).toBe(1)
  })

  it('a claim made once expiry + grace is reached is refused as expired and records nothing, though no record is held', async () => {
    let t = 0
    const s = createMemoryUseOnceStore({ now: () => t, graceMs: 50 })
    t = 149
    expect(await s.claim('in-time', 100)).toBe(true)
    t = 150
    await expect(s.claim('late', 100)).rejects.toSatisfy(tooLate)
    expect(await s.size()).toBe(0)
    expect(s.seen?.('late')).toBe(false)
  })

  it('purged, then claimed again: refused, never a second use', async () => {
    let t = 0
    const s = createMemoryUseOnceStore({ now: () => t, graceMs: 50 })
    expect(await s.claim('a', 100)).toBe(true)
    t = 150
    expect(await s.size()).toBe(0) // the record is purged
    await expect(s.claim('a', 100)).rejects.toSatisfy(tooLate)
    expect(await s.size()).toBe(0)
  })
})
