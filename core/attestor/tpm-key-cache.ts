/**
 * A bounded cache of parsed TPM keys (TPMT_PUBLIC) by their bytes: the AK, DevID and EK publics a
 * re-attesting agent sends again are parsed once per distinct key (core/bytes/bytes-cache.ts:
 * full byte compare on every hit, LRU bound, failures not cached). A cached key keeps its
 * identity, so its Name, its EK public hash and the provider's imported key object, all memoized
 * per object, are computed once too. Parsing only: the attribute profiles, the certification
 * and every signature are checked on each use.
 */
import { createBytesCache } from '../bytes/bytes-cache.ts'
import type { Platform } from '../platform.ts'
import type { ParsedBytesCache } from '../platform-caches.ts'
import { parseTpmKey, type TpmKey } from './tpm.ts'

/** A platform's `tpmKeys` slot, with a typed entry point for callers outside a platform. */
export interface TpmKeyCache extends ParsedBytesCache {
  /** the key `raw` parses to: remembered, or parsed now (throws as parseTpmKey, naming `what`) */
  parse(raw: Uint8Array, what: string): TpmKey
}

// 'k' keeps TPM key entries apart from any other parser's in a shared ParsedBytesCache
const TAG = 'k'

function parseWith(cache: ParsedBytesCache, raw: Uint8Array, what: string): TpmKey {
  return cache.get(raw, TAG, (own) => parseTpmKey(own, what))
}

export function createTpmKeyCache(capacity = 1024): TpmKeyCache {
  const cache = createBytesCache<unknown>(capacity, 'createTpmKeyCache')
  const slot: TpmKeyCache = {
    // every value under a tag is what that tag's parser returned (ParsedBytesCache's contract)
    get: <T>(bytes: Uint8Array, tag: string, parse: (own: Uint8Array<ArrayBuffer>) => T): T => cache.get(bytes, tag, parse) as T,
    parse: (raw, what) => parseWith(slot, raw, what),
    get size() {
      return cache.size
    },
  }
  return slot
}

/** Parses a TPMT_PUBLIC through the platform's TPM key cache when it has one. */
export function parseTpmKeyCached(raw: Uint8Array, what: string, platform: Platform): TpmKey {
  return platform.tpmKeys ? parseWith(platform.tpmKeys, raw, what) : parseTpmKey(raw, what)
}
