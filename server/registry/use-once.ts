/**
 * The shared use-once store for sealed sessions: one row per answered session in
 * `used_sessions(id PRIMARY KEY, expires_at)`. A claim is one statement,
 * `INSERT ... SELECT ... WHERE expires_at >= ? ON CONFLICT (id) DO NOTHING RETURNING id`: the primary
 * key makes it atomic in the database, so of two concurrent claims (two replicas, two connections)
 * exactly one returns a row. Portable SQL (SQLite >= 3.35 and PostgreSQL), through the SqlDatabase
 * port only. Rows past expiry + grace are purged lazily, at most once per `purgeEveryMs`.
 *
 * A claim that comes too late is refused in the same statement: the `?` is the cutoff, the store's
 * clock minus the grace, taken when the claim goes to the database (below), and a session that
 * expired before it is not inserted; the claim then rejects with ERR_SESSION_EXPIRED (core
 * useOnceClaimTooLate). The purge keeps every row a margin longer (`expires_at < now - grace -
 * margin`, USE_ONCE_PURGE_MARGIN_MS): a claim inserts only a row that no purge in the next two
 * minutes deletes. So a claim reaching the database after its session's first record could have
 * been purged never records the session a second time, however long its settle or its batch was
 * held up; and a claim judged on time and still in flight (a PostgreSQL statement within its
 * bounded waits, a SQLite writer waiting for another process's lock) commits long before that
 * record could be purged, as long as the replicas' clocks agree within the margin less that wait.
 *
 * On SQLite a claim joins the connection's write batch (write-batch.ts): the claims of answers
 * arriving together, and the attestation records being committed, share one transaction and its
 * fsyncs; each claim resolves once that transaction is committed.
 */
import { DEFAULT_USE_ONCE_GRACE_MS, type UseOnceStore, useOnceClaimTooLate } from '../../core/session/use-once.ts'
import type { AsyncSqlQueries, SqlDatabase, SqlStatement, SqlValue } from './sql.ts'
import { defer, writeBatchFor } from './write-batch.ts'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS used_sessions (
  id TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS used_sessions_expires_at ON used_sessions (expires_at);
`

export interface SqlUseOnceStoreOptions {
  /** clock (ms since the epoch); default Date.now */
  readonly now?: () => number
  /** until when after its session's expiry a claim is accepted; default 60 s (the record is kept USE_ONCE_PURGE_MARGIN_MS longer) */
  readonly graceMs?: number
  /** least time between two purges; default 10 s */
  readonly purgeEveryMs?: number
}

/**
 * How much longer than the last moment a claim is accepted (expiry + grace) a record is kept: more
 * than any claim can be in flight once judged (the PostgreSQL client's connect wait, 10 s, plus its
 * statement timeout, 30 s, and query margin, 5 s: server/entry/postgres.ts; the SQLite lock wait,
 * 2 s), with room for replicas' clocks that disagree.
 */
export const USE_ONCE_PURGE_MARGIN_MS = 120_000

/**
 * A use-once claim in the SQL stores, judged at `cutoff` (the clock minus the grace when the claim
 * goes to the database): inserted only for a session expiring at or after the cutoff, a row the
 * purge (`expires_at < now - grace`) would keep.
 */
const CLAIM =
  'INSERT INTO used_sessions (id, expires_at) SELECT id, expires_at FROM (SELECT ? AS id, ? AS expires_at) WHERE expires_at >= ? ON CONFLICT (id) DO NOTHING RETURNING id'

/**
 * The same for `n` claims in one statement (PostgreSQL, typed for the VALUES list); the cutoff is the
 * last parameter: `[id1, expiresAt1, ..., idn, expiresAtn, cutoff]`.
 */
export const claimsStatement = (n: number): string =>
  `INSERT INTO used_sessions (id, expires_at) SELECT c.id, c.expires_at FROM (VALUES ${Array.from({ length: n }, () => '(CAST(? AS TEXT), CAST(? AS BIGINT))').join(', ')}) AS c (id, expires_at) WHERE c.expires_at >= CAST(? AS BIGINT) ON CONFLICT (id) DO NOTHING RETURNING id`

/**
 * The purges of a store: each call gives the purge statement when one is due (at most one per
 * `everyMs` of the clock), else undefined. It deletes the records past expiry + grace + the margin
 * (USE_ONCE_PURGE_MARGIN_MS), which no claim can collide with any more.
 */
function duePurges(now: () => number, graceMs: number, everyMs: number): () => SqlStatement | undefined {
  let last = Number.NEGATIVE_INFINITY
  return () => {
    const t = now()
    if (t - last < everyMs) return undefined
    last = t
    return { sql: 'DELETE FROM used_sessions WHERE expires_at < ?', params: [t - graceMs - USE_ONCE_PURGE_MARGIN_MS] }
  }
}

/** How a claim went: recorded now, recorded already (used), or refused as too late (its record may have been purged). */
type ClaimOutcome = 'won' | 'used' | 'late'

/** most ids a store remembers as used (RecentClaims) */
export const MAX_RECENT_CLAIMS = 100_000

/**
 * The ids this process has seen claimed (its own claims, won or lost), until their session's
 * expiry: UseOnceStore.seen, so a replay reaching the replica that took the answer is refused
 * before any check. Bounded: past MAX_RECENT_CLAIMS the oldest are forgotten (a forgotten id is
 * still refused by the database, only later). Insertion order is expiry order under a constant TTL.
 */
export class RecentClaims {
  private readonly ids = new Map<string, number>()

  constructor(
    private readonly now: () => number,
    private readonly capacity = MAX_RECENT_CLAIMS,
  ) {}

  add(id: string, expiresAt: number): void {
    this.ids.delete(id)
    this.ids.set(id, expiresAt)
    const t = this.now()
    for (const [old, until] of this.ids) {
      if (this.ids.size <= this.capacity && until >= t) break
      this.ids.delete(old)
    }
  }

  has(id: string): boolean {
    const until = this.ids.get(id)
    return until !== undefined && until >= this.now()
  }
}

/**
 * A write that joins a use-once claim's transaction and happens only when the claim wins: `run`
 * on this thread's connection, or `statement` on the writer connection, where it runs right after
 * the claim and must itself be guarded by `changes() = 1` (the claim's row count).
 */
export interface ClaimedWrite<T> {
  readonly run: (db: SqlDatabase) => T
  readonly statement: SqlStatement
  readonly fromRow: (row: Record<string, SqlValue> | undefined) => T
}

/** The SQLite use-once store, which can also claim together with another write (AnswerLedger). */
export interface SqlUseOnceStore extends UseOnceStore {
  /** Claims `id` and, only when the claim wins, makes `then` in the same transaction: one commit for both. */
  claimAnd<T>(id: string, expiresAt: number, then: ClaimedWrite<T>): Promise<{ readonly claimed: boolean; readonly result?: T }>
}

export function createSqlUseOnceStore(db: SqlDatabase, options: SqlUseOnceStoreOptions = {}): SqlUseOnceStore {
  const now = options.now ?? (() => Date.now())
  const graceMs = options.graceMs ?? DEFAULT_USE_ONCE_GRACE_MS
  const purgeEveryMs = options.purgeEveryMs ?? 10_000
  db.exec(SCHEMA)
  const writes = writeBatchFor(db)

  const purgeStatement = duePurges(now, graceMs, purgeEveryMs)

  /**
   * A claim judged when it goes to the database: its statement is made then, with the time read
   * then (on this thread inside the batch's transaction, under the write lock; for the writer
   * thread when the batch is handed over), not when the claim was queued, so a claim held behind a
   * slow commit is judged at its own commit. A purge that ran before it in this connection's
   * batches was queued before it, so its time is no later than the claim's. What is left on the
   * writer-thread path is the wait between the handover and the writer's BEGIN IMMEDIATE, bounded by
   * its lock wait (busy_timeout, 2 s by default): only there could another process's purge on the
   * same file commit after the claim was judged.
   */
  const judged = (id: string, expiresAt: number) => {
    let late = false
    return {
      statement: (): SqlStatement => {
        const t = now()
        late = expiresAt < t - graceMs
        return { sql: CLAIM, params: [id, expiresAt, t - graceMs] }
      },
      outcome: (row: Record<string, SqlValue> | undefined): ClaimOutcome => (row !== undefined ? 'won' : late ? 'late' : 'used'),
    }
  }

  const recent = new RecentClaims(now)
  /**
   * The purge, when due, as a write of the batch like the claims' (never on this connection beside
   * a batch handed to the writer thread, where it could delete a record a claim judged before it
   * then inserts again).
   */
  const purgeIfDue = async (): Promise<void> => {
    const purge = purgeStatement()
    if (purge) await writes.run({ run: (d) => void d.run(purge.sql, purge.params), statements: [purge], fromRows: () => undefined })
  }

  return {
    async claim(id, expiresAt) {
      void purgeIfDue().catch(() => undefined)
      const claim = judged(id, expiresAt)
      const outcome = await writes.run({
        run: (d) => {
          const s = claim.statement()
          return claim.outcome(d.get(s.sql, s.params))
        },
        get statements() {
          return [claim.statement()]
        },
        fromRows: ([row]) => claim.outcome(row),
      })
      if (outcome === 'late') throw useOnceClaimTooLate(expiresAt)
      recent.add(id, expiresAt)
      return outcome === 'won'
    },
    async claimAnd<T>(id: string, expiresAt: number, then: ClaimedWrite<T>) {
      void purgeIfDue().catch(() => undefined)
      const claim = judged(id, expiresAt)
      const outcome = await writes.run<{ readonly outcome: ClaimOutcome; readonly result?: T }>({
        run: (d) => {
          const s = claim.statement()
          const outcome = claim.outcome(d.get(s.sql, s.params))
          return outcome === 'won' ? { outcome, result: then.run(d) } : { outcome }
        },
        get statements() {
          return [claim.statement(), then.statement]
        },
        fromRows: ([row, thenRow]) => {
          const outcome = claim.outcome(row)
          return outcome === 'won' ? { outcome, result: then.fromRow(thenRow) } : { outcome }
        },
      })
      if (outcome.outcome === 'late') throw useOnceClaimTooLate(expiresAt)
      recent.add(id, expiresAt)
      return outcome.outcome === 'won' ? { claimed: true, result: outcome.result as T } : { claimed: false }
    },
    seen(id) {
      return recent.has(id)
    },
    async size() {
      await purgeIfDue()
      return Number(db.get('SELECT COUNT(*) AS n FROM used_sessions')?.n ?? 0)
    },
  }
}

/** most claims in one multi-row statement */
const MAX_CLAIMS_PER_STATEMENT = 500

/**
 * Batches of up to this many rows are sent as prepared statements (one text per row count, so at
 * most this many texts per statement kind; server/entry/postgres.ts bounds them anyway): the
 * batches of answers arriving together, 1-16 at 16 in flight. Measured on PostgreSQL 15: a claim
 * and a registry upsert prepared cost its backend ~30% and the pg client 20-30% less than unnamed.
 */
export const PREPARED_BATCH_ROWS = 24

/** The PostgreSQL use-once store, with the hooks of a writer that claims in its own statements (answer-ledger-pg.ts). */
export interface AsyncSqlUseOnceStore extends UseOnceStore {
  /** tells the store's `seen` hint of a claim made elsewhere, won or lost */
  noteClaimed(id: string, expiresAt: number): void
  /** deletes the records past expiry + grace + USE_ONCE_PURGE_MARGIN_MS, when a purge is due (at most once per purgeEveryMs) */
  purgeIfDue(): Promise<void>
  /**
   * The cutoff of a claim sent now: the store's clock minus the grace (its purge deletes only
   * records a margin older). A claim statement inserts only sessions expiring at or after it (claimsStatement); a
   * session expiring before it is too late (useOnceClaimTooLate). Read right before the statement is sent.
   */
  claimCutoff(): number
}

/**
 * The same store on a client/server database (PostgreSQL, the AgentStore of several replicas): the
 * table comes from migration 4 (server/registry/migrations.ts). Claims that arrive together go in
 * one statement, `INSERT ... SELECT ... FROM (VALUES (...), (...)) WHERE expires_at >= cutoff ON
 * CONFLICT (id) DO NOTHING RETURNING id` (claimsStatement: one round trip and one commit per batch,
 * not per answer), still atomic across connections and replicas: a claim is true only when its id
 * comes back. The cutoff (claimCutoff) is read when the statement is sent, after any purge this
 * store runs first; a claim of a session expiring before it rejects with ERR_SESSION_EXPIRED.
 * The statement's own wait once sent (bounded by the client's waits, server/entry/postgres.ts) is
 * covered by the purge margin (USE_ONCE_PURGE_MARGIN_MS), and so are replicas' clocks, which the
 * purge of one and the claim of another each read, as far as they agree within that margin less
 * the wait.
 * The same id twice in one batch: the first claim wins, the later ones are false without being sent.
 */
export function createAsyncSqlUseOnceStore(db: AsyncSqlQueries, options: SqlUseOnceStoreOptions = {}): AsyncSqlUseOnceStore {
  const now = options.now ?? (() => Date.now())
  const graceMs = options.graceMs ?? DEFAULT_USE_ONCE_GRACE_MS
  const purgeEveryMs = options.purgeEveryMs ?? 10_000
  const purgeStatement = duePurges(now, graceMs, purgeEveryMs)
  const claimCutoff = () => now() - graceMs
  let queue: { id: string; expiresAt: number; resolve: (claimed: boolean) => void; reject: (e: unknown) => void }[] = []

  async function purge(): Promise<void> {
    const p = purgeStatement()
    if (p) await db.run(p.sql, p.params)
  }

  async function flush(): Promise<void> {
    const batch = queue
    queue = []
    const first = new Map<string, (typeof batch)[number]>()
    for (const c of batch) {
      if (first.has(c.id)) c.resolve(false)
      else first.set(c.id, c)
    }
    // sorted, so two batches holding the same ids (a replay sent to two replicas) insert them in
    // one order: one waits for the other instead of both failing on a deadlock
    const claims = [...first.values()].sort((x, y) => (x.id < y.id ? -1 : x.id > y.id ? 1 : 0))
    try {
      await purge()
      const won = new Set<string>()
      const late = new Set<string>()
      for (let i = 0; i < claims.length; i += MAX_CLAIMS_PER_STATEMENT) {
        const part = claims.slice(i, i + MAX_CLAIMS_PER_STATEMENT)
        const cutoff = claimCutoff()
        for (const c of part) if (c.expiresAt < cutoff) late.add(c.id)
        const rows = await db.all(
          claimsStatement(part.length),
          [...part.flatMap((c) => [c.id, c.expiresAt]), cutoff],
          // the usual batch sizes, parsed and planned once per connection
          { prepare: part.length <= PREPARED_BATCH_ROWS },
        )
        for (const r of rows) won.add(String(r.id))
      }
      for (const c of claims) {
        if (late.has(c.id)) c.reject(useOnceClaimTooLate(c.expiresAt))
        else c.resolve(won.has(c.id))
      }
    } catch (e) {
      for (const c of claims) c.reject(e)
    }
  }

  const recent = new RecentClaims(now)
  return {
    async claim(id, expiresAt) {
      const won = await new Promise<boolean>((resolve, reject) => {
        queue.push({ id, expiresAt, resolve, reject })
        // the database commits elsewhere: send at the end of this turn (write-batch.ts `defer`)
        if (queue.length === 1) defer(() => void flush())
      })
      recent.add(id, expiresAt)
      return won
    },
    seen(id) {
      return recent.has(id)
    },
    noteClaimed(id, expiresAt) {
      recent.add(id, expiresAt)
    },
    purgeIfDue: purge,
    claimCutoff,
    async size() {
      await purge()
      return Number((await db.get('SELECT COUNT(*) AS n FROM used_sessions'))?.n ?? 0)
    },
  }
}
