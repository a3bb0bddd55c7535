/**
 * The server's session store: core's SessionStore contract (take removes; bounded) with expiry
 * purged on every put and count, so `vouch_sessions_active` is the number of live sessions and an
 * abandoned session cannot leak. Expired sessions stay takeable until purged (the verifier then
 * answers "attestation session expired" rather than "unknown session ID").
 */
import { AttestationError } from '../core/errors.ts'
import { SESSION_STORE_FULL_MESSAGE, type SessionStore, type SessionValue, type StoredSession } from '../core/session/store.ts'

export interface ServerSessionStore extends SessionStore<SessionValue> {
  /** live sessions, after purging the expired ones */
  active(): number
}

/** `graceMs`: how long an expired session is kept so a late answer reads "expired". */
export function createServerSessionStore(now: () => number, capacity = 10_000, graceMs = 60_000): ServerSessionStore {
  const sessions = new Map<string, StoredSession<SessionValue>>()
  const purge = (): void => {
    const t = now()
    for (const [id, s] of sessions) if (s.expiresAt + graceMs <= t) sessions.delete(id)
  }
  return {
    async put(id, value, expiresAt) {
      purge()
      if (sessions.has(id)) throw new RangeError('session store: duplicate session id')
      if (sessions.size >= capacity) throw new AttestationError('ERR_SESSION_STORE_FULL', SESSION_STORE_FULL_MESSAGE, { detail: { capacity } })
      sessions.set(id, { value, expiresAt })
    },
    async take(id) {
      const s = sessions.get(id)
      if (s === undefined) return undefined
      sessions.delete(id)
      return s
    },
    async size() {
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
