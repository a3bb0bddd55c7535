/**
 * Use-once records: what makes a sealed session single-use when no session state is kept. A
 * record is written when an answer arrives; a second claim of the same id is refused. Records
 * outlive the session's expiry (plus a grace) so a replay is refused for as long as the token
 * could still open; then they are purged (lazily). A shared store (a database) makes the rule hold
 * across replicas (server/registry/use-once.ts).
 */
import { AttestationError } from '../errors.ts'
import { SESSION_EXPIRED, SESSION_STORE_FULL } from '../messages.ts'

/** how long a use-once record is kept after its session's expiry, by default: the purge deletes it then */
export const DEFAULT_USE_ONCE_GRACE_MS = 60_000

/**
 * Whether a claim judged at `now` comes too late for the in-memory store: its session's expiry
 * plus the grace is reached, so its record may have been purged already and a record made now
 * could be a second one. The store's purge deletes exactly such records (the SQL stores use their
 * purge's bound the same way: server/registry/use-once.ts), so a store that refuses these claims,
 * judged with its purge's clock at the moment the claim is committed, never records one session twice.
 */
export function isPastUseOnceGrace(expiresAt: number, now: number, graceMs: number): boolean {
  return expiresAt + graceMs <= now
}

/** The refusal of a claim past its session's expiry plus the grace: the session has expired (the seed's message). */
export function useOnceClaimTooLate(expiresAt: number): AttestationError {
  return new AttestationError('ERR_SESSION_EXPIRED', SESSION_EXPIRED, { detail: { expiredAt: new Date(expiresAt).toISOString() } })
}

export interface UseOnceStore {
  /**
   * Records `id` as used; true only the first time. Atomic: of two concurrent claims of one id,
   * exactly one resolves true. `expiresAt` (ms since the epoch) is the session's expiry: the record
   * is kept at least until then. A claim committed once that expiry plus the store's grace is past
   * records nothing and rejects with ERR_SESSION_EXPIRED (useOnceClaimTooLate), whether or not a
   * record is still held: the purge may have deleted the session's first record, so true could
   * mean a second use.
   */
  claim(id: string, expiresAt: number): Promise<boolean>
  /** records held now (a gauge) */
  size(): Promise<number>
  /**
   * A quick local answer, for a verifier that claims after its checks (AnswerOptions.settle): true
   * when `id` is known here to be used already, so its answer is refused before any check. A hint
   * only: false means "not known here", never "unused" (the claim decides).
   */
  seen?(id: string): boolean
}

/** A sealed session's use-once record to claim: its id and the session's expiry (ms since the epoch). */
export interface UseOnceClaim {
  readonly id: string
  readonly expiresAt: number
}

export interface MemoryUseOnceStoreOptions {
  /** most records held at once; default 100,000 */
  readonly capacity?: number
  /** clock (ms since the epoch); default Date.now */
  readonly now?: () => number
  /** how long a record is kept after its session's expiry, and until when a claim is accepted; default 60 s */
  readonly graceMs?: number
}

/**
 * The in-memory use-once store (one process). Records past expiry + grace are purged on each claim
 * (insertion order is expiry order under a constant TTL: the walk stops at the first live one).
 * When full even after a full purge, a claim fails with ERR_SESSION_STORE_FULL and records nothing.
 * A claim past its session's expiry + grace (at `now` when it is made) is refused with
 * ERR_SESSION_EXPIRED: the purge uses the same clock and the same bound.
 */
export function createMemoryUseOnceStore(options: MemoryUseOnceStoreOptions = {}): UseOnceStore {
  const capacity = options.capacity ?? 100_000
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('createMemoryUseOnceStore: capacity must be a positive integer')
  const now = options.now ?? (() => Date.now())
  const graceMs = options.graceMs ?? DEFAULT_USE_ONCE_GRACE_MS
  const used = new Map<string, number>()

  function purge(all: boolean): void {
    const t = now()
    for (const [id, expiresAt] of used) {
      if (isPastUseOnceGrace(expiresAt, t, graceMs)) used.delete(id)
      else if (!all) break
    }
  }

  return {
    async claim(id, expiresAt) {
      if (isPastUseOnceGrace(expiresAt, now(), graceMs)) throw useOnceClaimTooLate(expiresAt)
      if (used.has(id)) return false
      purge(false)
      if (used.size >= capacity) purge(true)
      if (used.size >= capacity) throw new AttestationError('ERR_SESSION_STORE_FULL', SESSION_STORE_FULL, { detail: { capacity } })
      used.set(id, expiresAt)
      return true
    },
    async size() {
      purge(false)
      return used.size
    },
    seen(id) {
      return used.has(id)
    },
  }
}
