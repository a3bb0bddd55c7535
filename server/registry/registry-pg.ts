/**
 * The agent registry on PostgreSQL, shared by several server replicas: the same tables and
 * migrations as the SQLite registry (migrations.ts), applied at start under pg_advisory_lock.
 * The attestation records that arrive together are one statement (one round trip, one commit),
 * whose upsert skips a banned agent's row; a ban written by any replica (or `vouch agent ban`)
 * holds at the next attestation on every replica. The bundle
 * sequence is incremented by one atomic upsert, so two replicas never hand out the same value.
 * `ping()` answers synchronously from the last background check (every PING_INTERVAL_MS) and
 * from the outcome of the last query.
 */
import { MIGRATION_LOCK_ID, MIGRATIONS_TABLE, pendingMigrations, SCHEMA_VERSION } from './migrations.ts'
import {
  type AgentRecord,
  type AttestationRecord,
  INSERT_AGENT,
  ON_AGENT_CONFLICT,
  toRecord,
  UPSERT_AGENT,
  upsertParams,
} from './registry.ts'
import type { AsyncSqlDatabase, AsyncSqlQueries } from './sql.ts'
import { PREPARED_BATCH_ROWS } from './use-once.ts'
import type { AgentStore } from './store.ts'
import { defer } from './write-batch.ts'

const PING_INTERVAL_MS = 5_000

/** Applies the pending migrations under the advisory lock, each in its own transaction. */
/**
 * Checks, without changing anything, that the database holds this build's schema: the CLI (`vouch
 * agent`, `vouch entry`) never migrates a shared database, so an operator's newer CLI cannot move
 * the schema past what running replicas accept. Older: start a server of this build first; newer:
 * upgrade vouch (the migrations' own message).
 */
export async function checkPostgresSchema(db: AsyncSqlQueries): Promise<void> {
  const table = await db.get("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")
  const applied = table?.present ? (await db.all('SELECT version FROM schema_migrations')).map((r) => Number(r.version)) : []
  const pending = pendingMigrations(applied)
  if (pending.length > 0)
    throw new Error(
      `the registry database has schema version ${Math.max(0, ...applied)}, older than this build's ${SCHEMA_VERSION}: start a vouch server of this build to migrate it (the CLI does not migrate a shared database)`,
    )
}

export async function migratePostgres(db: AsyncSqlDatabase, now: number = Date.now()): Promise<number[]> {
  return db.withLock(MIGRATION_LOCK_ID, async (conn) => {
    await conn.exec(MIGRATIONS_TABLE)
    const applied = (await conn.all('SELECT version FROM schema_migrations')).map((r) => Number(r.version))
    const done: number[] = []
    for (const m of pendingMigrations(applied)) {
      await conn.exec('BEGIN')
      try {
        const present =
          m.addsColumn &&
          (await conn.get(
            'SELECT 1 AS ok FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = ? AND column_name = ?',
            [m.addsColumn.table, m.addsColumn.column],
          )) !== undefined
        if (!present) await conn.exec(m.postgres ?? m.sql)
        await conn.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)', [m.version, now])
        await conn.exec('COMMIT')
      } catch (e) {
        await conn.exec('ROLLBACK')
        throw e
      }
      done.push(m.version)
    }
    return done
  })
}

/** most agents in one batch statement (9 parameters each) */
const MAX_AGENTS_PER_STATEMENT = 500

/**
 * A batch of attestation records as one statement: the ban check and the write are one atomic
 * step (`DO UPDATE ... WHERE agents.banned = 0`), and an agent is recorded only when its row comes
 * back; a banned one is left as it is. One round trip and one commit per batch.
 */
const COMMIT_BATCH_HEAD = `${INSERT_AGENT} VALUES `
const COMMIT_BATCH_ROW = '(?, ?, ?, ?, ?, ?, 0, ?, ?, ?)'
const COMMIT_BATCH_TAIL = ` ${ON_AGENT_CONFLICT} WHERE agents.banned = 0 RETURNING spiffe_id`

async function banned(q: AsyncSqlQueries, spiffeId: string): Promise<boolean> {
  const row = await q.get('SELECT banned FROM agents WHERE spiffe_id = ?', [spiffeId])
  return row !== undefined && Number(row.banned) !== 0
}

export class PgAgentRegistry implements AgentStore {
  private healthy = true
  private closed = false
  private readonly timer: ReturnType<typeof setInterval>
  private queue: { record: AttestationRecord; resolve: (outcome: 'recorded' | 'banned') => void; reject: (error: unknown) => void }[] = []

  /** the database, for the other tables replicas share (the use-once records, the registration entries) */
  get queries(): AsyncSqlDatabase {
    return this.db
  }

  private constructor(private readonly db: AsyncSqlDatabase) {
    this.timer = setInterval(() => void this.check(), PING_INTERVAL_MS)
    this.timer.unref?.()
  }

  /** Migrates the database (under the advisory lock) and returns the registry over it. */
  /** Migrates the schema first (a server), or, with `migrate: false` (the CLI), only checks it is this build's. */
  static async open(db: AsyncSqlDatabase, options: { readonly migrate?: boolean } = {}): Promise<PgAgentRegistry> {
    if (options.migrate === false) await checkPostgresSchema(db)
    else await migratePostgres(db)
    return new PgAgentRegistry(db)
  }

  private async track<T>(p: Promise<T>): Promise<T> {
    try {
      const v = await p
      this.healthy = true
      return v
    } catch (e) {
      this.healthy = false
      throw e
    }
  }

  private async check(): Promise<void> {
    if (this.closed) return
    await this.track(this.db.get('SELECT 1 AS ok')).catch(() => undefined)
  }

  async get(spiffeId: string): Promise<AgentRecord | undefined> {
    const row = await this.track(this.db.get('SELECT * FROM agents WHERE spiffe_id = ?', [spiffeId]))
    return row ? toRecord(row) : undefined
  }

  async list(): Promise<AgentRecord[]> {
    return (await this.track(this.db.all('SELECT * FROM agents ORDER BY spiffe_id'))).map(toRecord)
  }

  isBanned(spiffeId: string): Promise<boolean> {
    return this.track(banned(this.db, spiffeId))
  }

  /** As AgentRegistry.commitAttestation: records arriving in one turn of the event loop share one statement. */
  commitAttestation(a: AttestationRecord): Promise<'recorded' | 'banned'> {
    return new Promise((resolve, reject) => {
      this.queue.push({ record: a, resolve, reject })
      // PostgreSQL commits in its own process: send at the end of this turn (write-batch.ts `defer`)
      if (this.queue.length === 1) defer(() => void this.flush())
    })
  }

  private async flush(): Promise<void> {
    const batch = this.queue
    this.queue = []
    // one row per agent: the records of one agent in a batch fold into one, as if applied in turn
    const agents = new Map<string, { first: AttestationRecord; last: AttestationRecord; count: number }>()
    for (const { record } of batch) {
      const a = agents.get(record.spiffeId)
      if (a) {
        a.last = record
        a.count++
      } else agents.set(record.spiffeId, { first: record, last: record, count: 1 })
    }
    // sorted, so two batches touching the same agents lock their rows in one order (no deadlock)
    const rows = [...agents.values()].sort((x, y) =>
      x.first.spiffeId < y.first.spiffeId ? -1 : x.first.spiffeId > y.first.spiffeId ? 1 : 0,
    )
    const recorded = new Set<string>()
    const failed = new Map<string, unknown>()
    for (let i = 0; i < rows.length; i += MAX_AGENTS_PER_STATEMENT) {
      const part = rows.slice(i, i + MAX_AGENTS_PER_STATEMENT)
      try {
        const returned = await this.track(
          this.db.all(
            COMMIT_BATCH_HEAD + part.map(() => COMMIT_BATCH_ROW).join(', ') + COMMIT_BATCH_TAIL,
            part.flatMap(({ first, last, count }) => [
              last.spiffeId,
              last.attestorType,
              JSON.stringify(last.attributes),
              first.at,
              last.at,
              count,
              last.svidSerial ?? null,
              last.svidExpiresAt ?? null,
              JSON.stringify(last.selectors ?? []),
            ]),
            { prepare: part.length <= PREPARED_BATCH_ROWS },
          ),
        )
        for (const r of returned) recorded.add(String(r.spiffe_id))
      } catch (e) {
        for (const r of part) failed.set(r.first.spiffeId, e)
      }
    }
    for (const b of batch) {
      const id = b.record.spiffeId
      if (failed.has(id)) b.reject(failed.get(id))
      else b.resolve(recorded.has(id) ? 'recorded' : 'banned')
    }
  }

  async recordAttestation(a: AttestationRecord): Promise<void> {
    await this.track(this.db.run(UPSERT_AGENT, upsertParams(a)))
  }

  async setBanned(spiffeId: string, isBanned: boolean): Promise<boolean> {
    const changed = await this.track(this.db.run('UPDATE agents SET banned = ? WHERE spiffe_id = ?', [isBanned ? 1 : 0, spiffeId]))
    return changed > 0
  }

  async sequence(key: string): Promise<number> {
    const row = await this.track(this.db.get('SELECT value FROM meta WHERE key = ?', [key]))
    return row ? Number(row.value) : 0
  }

  async nextSequence(key: string): Promise<number> {
    const row = await this.track(
      this.db.get(
        `INSERT INTO meta (key, value) VALUES (?, '1')
         ON CONFLICT(key) DO UPDATE SET value = (CAST(meta.value AS BIGINT) + 1)::TEXT RETURNING value`,
        [key],
      ),
    )
    return Number(row!.value)
  }

  ping(): boolean {
    return !this.closed && this.healthy
  }

  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    await this.db.close()
  }
}
