import type { VerifiedSignatureCache } from '../platform-caches.ts'

/**
 * A bounded cache of issuer -> certificate signatures already verified (keyed by the SHA-256 of
 * the certificate DER and of the issuer SPKI), least recently used out first. It remembers only
 * that a signature verified: validity periods, constraints and names are still checked on every
 * path, so an entry can never make an expired or misused certificate pass.
 */
export function createVerifiedSignatureCache(capacity = 4096): VerifiedSignatureCache & { readonly size: number } {
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('createVerifiedSignatureCache: capacity must be a positive integer')
  const entries = new Map<string, unknown>()
  return {
    get(key) {
      const v = entries.get(key)
      if (v !== undefined) {
        entries.delete(key)
        entries.set(key, v)
      }
      return v
    },
    set(key, value) {
      entries.delete(key)
      entries.set(key, value)
      if (entries.size > capacity) entries.delete(entries.keys().next().value!)
    },
    get size() {
      return entries.size
    },
  }
}
