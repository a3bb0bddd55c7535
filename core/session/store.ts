/**
 * Attestation sessions: the server-side state between a challenge and its answer (the nonces,
 * the activation secret, what the cheap checks found). The verifier keeps its secrets ONLY here.
 *
 * A store is a map with two rules the verifier relies on:
 * - `take` removes: an answered session (pass or fail) can never be answered again;
 * - capacity is bounded: `put` on a full store fails with ERR_SESSION_STORE_FULL and changes nothing.
 * A shared store (Redis, a database) can implement the same interface; values are JSON-safe.
 */
import { AttestationError } from '../errors.ts'
import { SESSION_STORE_FULL } from '../messages.ts'

/** JSON-safe session contents (strings, numbers, booleans, arrays, plain objects). */
export type SessionValue = string | number | boolean | null | readonly SessionValue[] | { readonly [k: string]: SessionValue }

export interface StoredSession<T> {
  readonly value: T
  /** ms since the epoch */
  readonly expiresAt: number
}

export interface SessionStore<T = SessionValue> {
  /** Stores a new session. Rejects with AttestationError ERR_SESSION_STORE_FULL when at capacity. */
  put(id: string, value: T, expiresAt: number): Promise<void>
  /**
   * Removes the session and returns it, expired or not (the verifier reports expiry); undefined
   * when there is none. Atomic: two concurrent takes of one id return it at most once.
   */
  take(id: string): Promise<StoredSession<T> | undefined>
  /** sessions held now (expired ones not yet purged included) */
  size(): Promise<number>
}

export interface MemorySessionStoreOptions {
  /** most sessions held at once; default 10,000 */
  readonly capacity?: number
  /** clock (ms since the epoch); default Date.now. Inject for tests. */
  readonly now?: () => number
  /**
   * how long an expired session is kept (and takeable, so a late answer reads "expired" rather
   * than "unknown") before it is purged; default 60 s
   */
  readonly graceMs?: number
}

/** The in-memory store also reports how many sessions are live (not expired): a gauge for metrics. */
export interface MemorySessionStore<T> extends SessionStore<T> {
  /** live sessions, after purging those past expiry + grace */
  active(): number
}

/**
 * The default in-memory store. When full, expired sessions are purged first; only if it is
 * still full does `put` fail. Expired sessions stay takeable until purged, so an answer after
 * expiry gets "expired" rather than "unknown".
 */
export function createMemorySessionStore<T = SessionValue>(options: MemorySessionStoreOptions = {}): MemorySessionStore<T> {
  const capacity = options.capacity ?? 10_000
  if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError('createMemorySessionStore: capacity must be a positive integer')
  const now = options.now ?? (() => Date.now())
  const graceMs = options.graceMs ?? 60_000
  const sessions = new Map<string, StoredSession<T>>()

  /**
   * Drops sessions past expiry + grace; with `all`, every expired one (room for a new session
   * wins over a late answer). Sessions are kept in insertion order, which is expiry order when
   * the TTL is constant (the verifier's): the walk stops at the first live one, so a put costs
   * O(1) amortized however many sessions are pending. A full walk happens only when the store
   * is full (an out-of-order expiry is then found too).
   */
  function purge(all = false): void {
    const t = now()
    for (const [id, s] of sessions) {
      if (s.expiresAt + (all ? 0 : graceMs) <= t) sessions.delete(id)
      else if (!all) break
    }
  }

  return {
    async put(id, value, expiresAt) {
      if (sessions.has(id)) throw new RangeError('session store: duplicate session id')
      purge()
      if (sessions.size >= capacity) purge(true)
      if (sessions.size >= capacity) {
        throw new AttestationError('ERR_SESSION_STORE_FULL', SESSION_STORE_FULL, { detail: { capacity } })
      }
      sessions.set(id, { value, expiresAt })
    },
    async take(id) {
      const s = sessions.get(id)
      if (s === undefined) return undefined
      sessions.delete(id)
      return s
    },
    async size() {
      purge()
      return sessions.size
    },
    active() {
      purge()
      const t = now()
      let n = 0
      for (const s of sessions.values()) if (s.expiresAt > t) n++
      return n
    },
  }
}
