// The use-once records of sealed sessions in Durable Objects: what makes a sealed session
// single-use when the Worker keeps no session state. A record is written when an answer arrives;
// a second claim of the same id is refused, across every isolate and location, because one id
// always lands on the same object and an object runs one event at a time (SQLite calls are
// synchronous: the INSERT below is the whole decision).
//
// Records are kept until their session's expiry plus a grace, then an alarm deletes them, so the
// tables stay as small as the sessions answered in the last few minutes. The records are spread
// over USE_ONCE_SHARDS objects by their id (random bytes: an even spread).
import { AttestationError } from 'vouch'
import type { UseOnceStore } from 'vouch/attestation'

/** Objects the records are spread over. Changing it moves ids to other objects: wait a session TTL plus grace after a change before trusting it. */
export const USE_ONCE_SHARDS = 16
/** how long a record outlives its session's expiry (ms) */
export const USE_ONCE_GRACE_MS = 60_000
/** most records one object holds; past that (after a purge) a claim is refused with ERR_SESSION_STORE_FULL */
export const USE_ONCE_CAPACITY = 100_000

// a use-once id is 16 random bytes, base64url (22 characters)
const ID = /^[A-Za-z0-9_-]{22}$/
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'

/** The parts of a Durable Object namespace binding used here (structurally typed: no workers-types needed). */
export interface UseOnceNamespace {
  idFromName(name: string): unknown
  get(id: never): { fetch(input: string, init?: RequestInit): Promise<Response> }
}

/** The object (shard) that holds `id`'s record: the id's first character, 64 values over 16 shards. */
export function useOnceShard(id: string): string {
  return `use-once-${Math.max(0, ALPHABET.indexOf(id[0] ?? 'A')) % USE_ONCE_SHARDS}`
}

/** vouch's UseOnceStore over the USE_ONCE binding: one request to one object per claim. */
export function durableObjectUseOnceStore(ns: UseOnceNamespace): UseOnceStore {
  const stub = (name: string) => ns.get(ns.idFromName(name) as never)
  return {
    async claim(id, expiresAt) {
      const res = await stub(useOnceShard(id)).fetch('https://use-once/claim', {
        method: 'POST',
        body: JSON.stringify({ id, expiresAt }),
      })
      if (res.status === 503)
        throw new AttestationError('ERR_SESSION_STORE_FULL', 'use-once records are at capacity; retry later', {
          detail: { capacity: USE_ONCE_CAPACITY },
        })
      if (!res.ok) throw new Error(`use-once record: HTTP ${res.status}`)
      return ((await res.json()) as { claimed: boolean }).claimed
    },
    async size() {
      const sizes = await Promise.all(
        Array.from({ length: USE_ONCE_SHARDS }, async (_, i) => {
          const res = await stub(`use-once-${i}`).fetch('https://use-once/size')
          return ((await res.json()) as { records: number }).records
        }),
      )
      return sizes.reduce((a, b) => a + b, 0)
    },
  }
}

/** The parts of a SQLite-backed Durable Object's state used here. */
export interface UseOnceState {
  readonly storage: {
    readonly sql: {
      exec(query: string, ...bindings: (string | number)[]): { toArray(): Record<string, unknown>[] }
    }
    getAlarm(): Promise<number | null>
    setAlarm(scheduledTime: number): Promise<void>
  }
}

/**
 * The Durable Object class (wrangler.toml: a `new_sqlite_classes` migration). Two routes:
 *   POST /claim { id, expiresAt }  -> { claimed: true } the first time, { claimed: false } after;
 *                                     503 when at capacity even after a purge
 *   GET  /size                      -> { records }
 */
export class UseOnceRecords {
  private count: number

  constructor(
    private readonly state: UseOnceState,
    _env: unknown,
  ) {
    const sql = state.storage.sql
    sql.exec('CREATE TABLE IF NOT EXISTS used (id TEXT PRIMARY KEY, expires_at INTEGER NOT NULL) WITHOUT ROWID')
    sql.exec('CREATE INDEX IF NOT EXISTS used_by_expiry ON used (expires_at)')
    this.count = this.counted()
  }

  private counted(): number {
    return Number(this.state.storage.sql.exec('SELECT count(*) AS n FROM used').toArray()[0]!.n)
  }

  /** deletes the records past expiry + grace */
  private purge(now: number): void {
    this.state.storage.sql.exec('DELETE FROM used WHERE expires_at <= ?', now - USE_ONCE_GRACE_MS)
    this.count = this.counted()
  }

  /** true the first time `id` is claimed; undefined when full */
  private claim(id: string, expiresAt: number): boolean | undefined {
    const sql = this.state.storage.sql
    if (this.count >= USE_ONCE_CAPACITY) this.purge(Date.now())
    if (this.count >= USE_ONCE_CAPACITY) {
      // a claim of a recorded id is still refused as used, not as full
      return sql.exec('SELECT 1 FROM used WHERE id = ?', id).toArray().length === 0 ? undefined : false
    }
    const inserted = sql.exec('INSERT INTO used (id, expires_at) VALUES (?, ?) ON CONFLICT (id) DO NOTHING RETURNING id', id, expiresAt)
    if (inserted.toArray().length === 0) return false
    this.count++
    return true
  }

  /** the alarm rings at the earliest expiry + grace held (the first claim sets it, each ring sets the next) */
  private async schedule(at: number): Promise<void> {
    const current = await this.state.storage.getAlarm()
    if (current === null || current > at) await this.state.storage.setAlarm(at)
  }

  async fetch(request: Request): Promise<Response> {
    const path = new URL(request.url).pathname
    if (request.method === 'GET' && path === '/size') return Response.json({ records: this.count })
    if (request.method !== 'POST' || path !== '/claim') return new Response('not found', { status: 404 })
    const { id, expiresAt } = (await request.json()) as { id?: unknown; expiresAt?: unknown }
    if (typeof id !== 'string' || !ID.test(id) || typeof expiresAt !== 'number' || !Number.isSafeInteger(expiresAt) || expiresAt < 0)
      return new Response('expected { id, expiresAt }', { status: 400 })
    const claimed = this.claim(id, expiresAt)
    if (claimed === undefined) return Response.json({ full: true }, { status: 503 })
    if (claimed) await this.schedule(expiresAt + USE_ONCE_GRACE_MS)
    return Response.json({ claimed })
  }

  async alarm(): Promise<void> {
    this.purge(Date.now())
    const next = this.state.storage.sql.exec('SELECT min(expires_at) AS e FROM used').toArray()[0]?.e
    if (typeof next === 'number') await this.state.storage.setAlarm(next + USE_ONCE_GRACE_MS)
  }
}
