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
import { parseTpmKey, type TpmKey } from './tpm.ts'

export interface TpmKeyCache {
  /** the key `raw` parses to: remembered, or parsed now (throws as parseTpmKey, naming `what`) */
  parse(raw: Uint8Array, what: string): TpmKey
}

export function createTpmKeyCache(capacity = 1024): TpmKeyCache & { readonly size: number } {
  const cache = createBytesCache<TpmKey>(capacity, 'createTpmKeyCache')
  return {
    parse(raw, what) {
      return cache.get(raw, '', (own) => parseTpmKey(own, what))
    },
    get size() {
      return cache.size
    },
  }
}

/** Parses a TPMT_PUBLIC through the platform's TPM key cache when it has one. */
export function parseTpmKeyCached(raw: Uint8Array, what: string, platform: Platform): TpmKey {
  return platform.tpmKeys ? platform.tpmKeys.parse(raw, what) : parseTpmKey(raw, what)
}
