/**
 * A bounded cache of values derived from byte strings (a parsed certificate from its DER, a parsed
 * TPMT_PUBLIC from its bytes): what agents send again with every attestation is parsed once.
 *
 * - A lookup hashes the bytes with FNV-1a (over 32-bit words), a bucket index and never an identity: a hit also
 *   compares the stored bytes in full, so a collision can never return another value.
 * - `derive` receives a private copy of the bytes, so a cached value never holds on to the
 *   caller's buffer (Buffer's 8 KiB pool on Node, a request body) and no caller can change it.
 * - Values are shared between callers: they must be immutable (core never mutates a parsed value).
 * - Failures are not cached: `derive` throws to the caller every time.
 * - Least recently used out first once `capacity` entries are held.
 */
import { bytesEqual } from './equal.ts'

export interface BytesCache<T> {
  /** the value `derive` gives for `bytes` under `tag` (parse options, say): remembered, or derived now */
  get(bytes: Uint8Array, tag: string, derive: (own: Uint8Array<ArrayBuffer>) => T): T
  readonly size: number
}

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193

/**
 * FNV-1a over little-endian 32-bit words (then the tail bytes), 32 bits: a quarter of the steps
 * of the byte-wise hash. An aligned view is read through an Int32Array, any other assembles the
 * same words from bytes, so the value does not depend on alignment (on a big-endian host the two
 * paths differ, which costs cache misses, never a wrong hit: hits compare the bytes).
 */
export function fnv1aWords(bytes: Uint8Array): number {
  const n = bytes.length
  const words = n >>> 2
  let h = FNV_OFFSET
  if ((bytes.byteOffset & 3) === 0) {
    const w32 = new Int32Array(bytes.buffer, bytes.byteOffset, words)
    for (let w = 0; w < words; w++) h = Math.imul(h ^ w32[w]!, FNV_PRIME)
  } else {
    for (let i = 0; i < words << 2; i += 4) {
      h = Math.imul(h ^ (bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24)), FNV_PRIME)
    }
  }
  return fnv1aBytes(bytes, words << 2, n, h)
}

/** FNV-1a, byte by byte, over source[start, end), continuing from `h`. */
export function fnv1aBytes(source: Uint8Array, start: number, end: number, h: number = FNV_OFFSET): number {
  for (let i = start; i < end; i++) h = Math.imul(h ^ source[i]!, FNV_PRIME)
  return h >>> 0
}

export function createBytesCache<T>(capacity: number, what: string): BytesCache<T> {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`${what}: capacity must be a positive integer`)
  // one slot per 32-bit hash of (bytes, tag): a colliding newcomer takes the slot (a miss, never a wrong hit)
  const entries = new Map<number, { bytes: Uint8Array; tag: string; value: T }>()
  return {
    get(bytes, tag, derive) {
      let h = fnv1aWords(bytes)
      for (let i = 0; i < tag.length; i++) h = Math.imul(h ^ tag.charCodeAt(i), FNV_PRIME)
      const key = (h ^ bytes.length) >>> 0
      const hit = entries.get(key)
      if (hit !== undefined && hit.tag === tag && bytesEqual(hit.bytes, bytes)) {
        entries.delete(key)
        entries.set(key, hit)
        return hit.value
      }
      const own = bytes.slice()
      const value = derive(own)
      entries.delete(key)
      entries.set(key, { bytes: own, tag, value })
      if (entries.size > capacity) entries.delete(entries.keys().next().value!)
      return value
    },
    get size() {
      return entries.size
    },
  }
}
