import { describe, expect, it } from 'vitest'
import { AttestationError } from '../../../core/errors.ts'
import { SESSION_STORE_FULL } from '../../../core/messages.ts'
import { createMemorySessionStore } from '../../../core/session/store.ts'
import { isWellFormedSessionId, newSessionId, SESSION_ID_BYTES } from '../../../core/session/id.ts'
import { defaultPlatform } from '../../../core/platform.ts'

describe('in-memory session store', () => {
  it('take removes: a session is returned once, then unknown', async () => {
    const s = createMemorySessionStore<{ n: number }>({ now: () => 0 })
    await s.put('a', { n: 1 }, 100)
    expect(await s.size()).toBe(1)
    expect(await s.take('a')).toEqual({ value: { n: 1 }, expiresAt: 100 })
    expect(await s.take('a')).toBeUndefined()
    expect(await s.size()).toBe(0)
  })

  it('concurrent takes of one id return it at most once', async () => {
    const s = createMemorySessionStore({ now: () => 0 })
    await s.put('a', 'v', 100)
    const got = await Promise.all([s.take('a'), s.take('a'), s.take('a')])
    expect(got.filter((x) => x !== undefined)).toHaveLength(1)
  })

  it('keeps an expired session takeable (so the verifier can say "expired") until capacity forces a purge', async () => {
    let t = 0
    const s = createMemorySessionStore({ capacity: 2, now: () => t })
    await s.put('old', 'x', 10)
    t = 50
    expect(await s.take('old')).toEqual({ value: 'x', expiresAt: 10 })
    await s.put('e1', 'x', 60)
    await s.put('live', 'y', 1000)
    t = 100
    // full: the expired e1 is purged to make room, the live one stays
    await s.put('new', 'z', 1000)
    expect(await s.take('e1')).toBeUndefined()
    expect(await s.take('live')).toEqual({ value: 'y', expiresAt: 1000 })
  })

  it('when full of live sessions, put fails with ERR_SESSION_STORE_FULL and changes nothing', async () => {
    const s = createMemorySessionStore({ capacity: 2, now: () => 0 })
    await s.put('a', 1, 100)
    await s.put('b', 2, 100)
    const err = await s.put('c', 3, 100).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AttestationError)
    expect((err as AttestationError).code).toBe('ERR_SESSION_STORE_FULL')
    expect((err as AttestationError).message).toBe(SESSION_STORE_FULL)
    expect(await s.size()).toBe(2)
    expect(await s.take('c')).toBeUndefined()
    expect(await s.take('a')).toEqual({ value: 1, expiresAt: 100 })
    await s.put('c', 3, 100)
    expect(await s.size()).toBe(2)
  })

  it('refuses a bad capacity and a duplicate id (caller misuse)', async () => {
    expect(() => createMemorySessionStore({ capacity: 0 })).toThrow(RangeError)
    const s = createMemorySessionStore({ now: () => 0 })
    await s.put('a', 1, 10)
    await expect(s.put('a', 2, 10)).rejects.toThrow(RangeError)
  })
})

describe('session ids', () => {
  it('are at least 128 random bits, base64url, distinct, and well-formed', () => {
    expect(SESSION_ID_BYTES * 8).toBeGreaterThanOrEqual(128)
    const p = defaultPlatform()
    const ids = new Set(Array.from({ length: 1000 }, () => newSessionId(p)))
    expect(ids.size).toBe(1000)
    for (const id of ids) expect(isWellFormedSessionId(id)).toBe(true)
    expect(isWellFormedSessionId('short')).toBe(false)
    expect(isWellFormedSessionId('a'.repeat(32) + '/')).toBe(false)
    expect(isWellFormedSessionId(42)).toBe(false)
  })
})
