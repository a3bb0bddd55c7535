/**
 * Use-once records: what makes a sealed session single-use when no session state is kept. A
 * record is written when an answer arrives; a second claim of the same id is refused. Records
 * outlive the session's expiry (plus a grace) so a replay is refused for as long as the token
 * could still open; then they are purged (lazily). A shared store (a database) makes the rule hold
 * across replicas (server/registry/use-once.ts).
 */
import { AttestationError } from '../errors.ts'
import { SESSION_STORE_FULL } from '../messages.ts'

export interface UseOnceStore {
  /**
   * Records `id` as used; true only the first time. Atomic: of two concurrent claims of one id,
   * exactly one resolves true. `expiresAt` (ms since the epoch) is the session's expiry: the record
   * is kept at least until then.
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
  /** how long a record is kept after its session's expiry; default 60 s */
  readonly graceMs?: number
}

/**
 * The in-memory use-once store (one process). Records past expiry + grace are purged on each claim
 * (insertion order is expiry order under a constant TTL: the walk stops at the first live one).
 * When full even after a full purge, a claim fails with ERR_SESSION_STORE_FULL and records nothing.
 */
export function createMemoryUseOnceStore(options: MemoryUseOnceStoreOptions = {}): UseOnceStore {
  const capacity = options.capacity ?? 100_000
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('createMemoryUseOnceStore: capacity must be a positive integer')
  const now = options.now ?? (() => Date.now())
  const graceMs = options.graceMs ?? 60_000
  const used = new Map<string, number>()

  function purge(all: boolean): void {
    const t = now()
    for (const [id, expiresAt] of used) {
      if (expiresAt + graceMs <= t) used.delete(id)
      else if (!all) break
    }
  }

  return {
    async claim(id, expiresAt) {
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
