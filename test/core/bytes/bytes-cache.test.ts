import { describe, expect, it } from 'vitest'
import { createBytesCache, fnv1aWords } from '../../../core/bytes/bytes-cache.ts'
import { fromHex } from '../../../core/bytes/encoding.ts'

const derive = (calls: Uint8Array[]) => (own: Uint8Array) => {
  calls.push(own)
  return { first: own[0], own }
}

describe('bytes-keyed cache', () => {
  it('derives once per distinct bytes and returns the same value on a hit', () => {
    const cache = createBytesCache<{ first: number | undefined }>(8, 'test')
    const calls: Uint8Array[] = []
    const a = cache.get(Uint8Array.of(1, 2, 3), '', derive(calls))
    const b = cache.get(Uint8Array.of(1, 2, 3), '', derive(calls))
    expect(b).toBe(a)
    expect(calls).toHaveLength(1)
    expect(cache.get(Uint8Array.of(1, 2, 4), '', derive(calls))).not.toBe(a)
    expect(calls).toHaveLength(2)
  })

  it('never returns the value of other bytes whose hash collides (the bytes are compared in full)', () => {
    // the word-wise FNV-1a of both is 0xe63e9ba4 (found by a birthday search over 8-byte strings)
    const x = fromHex('000020b153914361')
    const y = fromHex('00018a0853063788')
    expect(fnv1aWords(x)).toBe(0xe63e9ba4)
    expect(fnv1aWords(y)).toBe(0xe63e9ba4)
    const cache = createBytesCache<{ first: number | undefined; own: Uint8Array }>(8, 'test')
    const calls: Uint8Array[] = []
    const vx = cache.get(x, '', derive(calls))
    const vy = cache.get(y, '', derive(calls))
    expect(vy).not.toBe(vx)
    expect(Array.from(vy.own)).toEqual(Array.from(y))
    expect(calls).toHaveLength(2)
  })

  it("hands derive a private copy: changing the caller's buffer afterwards changes nothing", () => {
    const cache = createBytesCache<{ first: number | undefined; own: Uint8Array }>(8, 'test')
    const calls: Uint8Array[] = []
    const input = Uint8Array.of(9, 8, 7)
    const v = cache.get(input, '', derive(calls))
    expect(v.own).not.toBe(input)
    expect(v.own.buffer).not.toBe(input.buffer)
    input[0] = 0
    expect(v.own[0]).toBe(9)
    // the bent buffer is other bytes now: derived afresh, the old value is not returned for it
    expect(cache.get(input, '', derive(calls)).first).toBe(0)
    expect(cache.get(Uint8Array.of(9, 8, 7), '', derive(calls))).toBe(v)
  })

  it('keeps tags apart', () => {
    const cache = createBytesCache<{ first: number | undefined }>(8, 'test')
    const calls: Uint8Array[] = []
    const a = cache.get(Uint8Array.of(5), 'strict', derive(calls))
    const b = cache.get(Uint8Array.of(5), 'tolerant', derive(calls))
    expect(b).not.toBe(a)
    expect(calls).toHaveLength(2)
  })

  it('does not cache failures', () => {
    const cache = createBytesCache<number>(8, 'test')
    let n = 0
    const failing = () => {
      n++
      throw new Error('bad')
    }
    expect(() => cache.get(Uint8Array.of(1), '', failing)).toThrow('bad')
    expect(() => cache.get(Uint8Array.of(1), '', failing)).toThrow('bad')
    expect(n).toBe(2)
    expect(cache.size).toBe(0)
  })

  it('is bounded, least recently used out first', () => {
    const cache = createBytesCache<{ first: number | undefined }>(2, 'test')
    const calls: Uint8Array[] = []
    const one = cache.get(Uint8Array.of(1), '', derive(calls))
    cache.get(Uint8Array.of(2), '', derive(calls))
    expect(cache.get(Uint8Array.of(1), '', derive(calls))).toBe(one) // 1 is now the most recent
    cache.get(Uint8Array.of(3), '', derive(calls)) // evicts 2
    expect(cache.size).toBe(2)
    expect(calls).toHaveLength(3)
    expect(cache.get(Uint8Array.of(1), '', derive(calls))).toBe(one)
    cache.get(Uint8Array.of(2), '', derive(calls))
    expect(calls).toHaveLength(4)
  })

  it("hashes the same bytes to the same value whatever the view's alignment, and finds them", () => {
    const backing = new Uint8Array(1203)
    for (let i = 0; i < backing.length; i++) backing[i] = (i * 131 + 7) & 0xff
    const cache = createBytesCache<{ first: number | undefined }>(8, 'test')
    const calls: Uint8Array[] = []
    const views = [0, 1, 2, 3].map((o) => new Uint8Array(backing.buffer, o, 1200))
    const copies = views.map((v) => v.slice())
    for (let k = 0; k < 4; k++) {
      // all four offsets hold different bytes; each equals its aligned copy
      expect(fnv1aWords(views[k]!)).toBe(fnv1aWords(copies[k]!))
      const v = cache.get(views[k]!, '', derive(calls))
      expect(cache.get(copies[k]!, '', derive(calls))).toBe(v)
    }
    expect(calls).toHaveLength(4)
    // tails of 1-3 bytes count
    expect(fnv1aWords(Uint8Array.of(1, 2, 3, 4, 5))).not.toBe(fnv1aWords(Uint8Array.of(1, 2, 3, 4, 6)))
  })

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => createBytesCache(0, 'createThing')).toThrow('createThing: capacity must be a positive integer')
    expect(() => createBytesCache(1.5, 'createThing')).toThrow(RangeError)
  })
})
