import { describe, expect, it } from 'vitest'
import { createMemorySessionStore } from '../../../core/session/store.ts'

describe('memory session store: grace period and live count', () => {
  it('counts live sessions only, keeps expired ones takeable for the grace period, then purges them', async () => {
    let now = 1_000_000
    const s = createMemorySessionStore({ now: () => now, capacity: 3, graceMs: 60_000 })
    await s.put('a', { x: 1 }, now + 1000)
    await s.put('b', { x: 2 }, now + 5000)
    expect(s.active()).toBe(2)
    now += 2000
    expect(s.active()).toBe(1)
    expect(await s.take('a')).toEqual({ value: { x: 1 }, expiresAt: 1_001_000 })
    expect(await s.take('a')).toBeUndefined()
    now += 70_000
    expect(s.active()).toBe(0)
    expect(await s.size()).toBe(0)
    expect(await s.take('b')).toBeUndefined()
  })

  it('refuses a put when full (and changes nothing), accepts again after a take; rejects duplicate ids', async () => {
    const now = 0
    const s = createMemorySessionStore({ now: () => now, capacity: 2 })
    await s.put('a', 1, 10)
    await s.put('b', 2, 10)
    await expect(s.put('c', 3, 10)).rejects.toMatchObject({
      code: 'ERR_SESSION_STORE_FULL',
      message: 'attestation session store is full; retry later',
    })
    expect(await s.size()).toBe(2)
    await s.take('a')
    await s.put('c', 3, 10)
    await expect(s.put('c', 4, 10)).rejects.toThrow(/duplicate/)
  })

  it('purges oldest first and stops at the first live session; a session that expires out of order is reclaimed when the store is full', async () => {
    let now = 0
    const s = createMemorySessionStore({ now: () => now, capacity: 3, graceMs: 0 })
    await s.put('long', 1, 1000) // inserted first, expires last
    await s.put('short', 2, 10)
    now = 20
    // the walk stops at 'long' (live): 'short' is expired but still held until room is needed
    await s.put('c', 3, 1020)
    expect(await s.size()).toBe(3)
    expect(s.active()).toBe(2)
    await s.put('d', 4, 1020) // full: the full purge finds 'short'
    expect(await s.take('short')).toBeUndefined()
    expect((await s.take('long'))?.value).toBe(1)
    now = 2000
    await s.put('e', 5, 3000) // 'c' and 'd' expired at the front: purged on the way
    expect(await s.size()).toBe(1)
  })
})
