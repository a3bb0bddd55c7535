/**
 * AsyncSqlDatabase on PostgreSQL through the `pg` client (a connection pool). `pg` is imported
 * here, lazily (openPostgres is itself imported only when `database:` is a postgres:// URL), so the
 * SQLite default and `import 'vouch'` load nothing of it. `?` parameters become `$1, $2, ...`; the
 * registry's SQL has no `?` inside literals. A statement run with `{ prepare: true }` (the batch
 * statements) is named, so each connection parses and plans it once. BIGINT columns come back as strings and the registry
 * converts them with Number (ms timestamps and counts stay below 2^53).
 */
import type { AsyncSqlDatabase, AsyncSqlQueries, SqlValue } from '../registry/sql.ts'

interface Queryable {
  query(
    text: string | { name: string; text: string; values: unknown[] },
    values?: unknown[],
  ): Promise<{ rows: Record<string, SqlValue>[]; rowCount: number | null }>
}

/**
 * Most statement texts kept prepared (by name, on each connection that runs them) per pool; beyond
 * that they run unnamed. The batch statements' texts differ only by their row count, and callers
 * ask for it only for small batches, so this is never reached in practice; it bounds what a
 * backend holds whatever comes.
 */
export const MAX_PREPARED_STATEMENTS = 64

/** Names of the prepared statement texts of one pool. */
type PreparedNames = Map<string, { readonly name: string; readonly text: string }>

/** `?` placeholders as PostgreSQL's `$n`. */
export function toPgPlaceholders(sql: string): string {
  let n = 0
  return sql.replace(/\?/g, () => `$${++n}`)
}

function queries(q: Queryable, names: PreparedNames): AsyncSqlQueries {
  const named = (sql: string) => {
    let n = names.get(sql)
    if (n === undefined && names.size < MAX_PREPARED_STATEMENTS) {
      n = { name: `vouch_${names.size + 1}`, text: toPgPlaceholders(sql) }
      names.set(sql, n)
    }
    return n
  }
  return {
    exec: async (sql) => void (await q.query(sql)),
    run: async (sql, params = []) => (await q.query(toPgPlaceholders(sql), [...params])).rowCount ?? 0,
    get: async (sql, params = []) => (await q.query(toPgPlaceholders(sql), [...params])).rows[0],
    all: async (sql, params = [], options) => {
      const n = options?.prepare ? named(sql) : undefined
      return (await (n ? q.query({ name: n.name, text: n.text, values: [...params] }) : q.query(toPgPlaceholders(sql), [...params]))).rows
    },
  }
}

export interface PostgresOptions {
  /** pool size (default 10) */
  readonly max?: number
  /** how long a new connection may take, the startup handshake included (default 10 s) */
  readonly connectTimeoutMs?: number
  /**
   * how long one statement may run: the server cancels it (statement_timeout), and the client gives
   * up 5 s later if no answer comes at all (a partitioned network); lock waits count (default 30 s)
   */
  readonly statementTimeoutMs?: number
}

/** a transaction left open by a client that went away is ended by the server after this long */
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000

export async function openPostgres(url: string, options: PostgresOptions = {}): Promise<AsyncSqlDatabase> {
  // pg is an optional peer dependency: only a server configured with `database: postgres://` needs it
  let pg: typeof import('pg').default
  try {
    pg = (await import('pg')).default
  } catch (e) {
    if ((e as { code?: string }).code !== 'ERR_MODULE_NOT_FOUND') throw e
    throw new Error('database: postgres:// needs the pg package: run `npm install pg` beside vouch')
  }
  const statementTimeout = options.statementTimeoutMs ?? 30_000
  // bounded waits: a database that accepts connections but never answers (a partition, a hung
  // server) fails each query in bounded time instead of holding requests and locks forever
  const pool = new pg.Pool({
    connectionString: url,
    max: options.max ?? 10,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 10_000,
    keepAlive: true,
    statement_timeout: statementTimeout,
    query_timeout: statementTimeout + 5_000,
    idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
  })
  // an idle client losing its connection must not crash the process; the next query reports it
  pool.on('error', () => undefined)
  const names: PreparedNames = new Map()
  const withClient = async <T>(fn: (c: import('pg').PoolClient) => Promise<T>): Promise<T> => {
    const client = await pool.connect()
    try {
      return await fn(client)
    } finally {
      client.release()
    }
  }
  return {
    ...queries(pool as unknown as Queryable, names),
    transaction: (fn) =>
      withClient(async (c) => {
        await c.query('BEGIN')
        try {
          const v = await fn(queries(c as unknown as Queryable, names))
          await c.query('COMMIT')
          return v
        } catch (e) {
          await c.query('ROLLBACK').catch(() => undefined)
          throw e
        }
      }),
    withLock: (lockId, fn) =>
      withClient(async (c) => {
        await c.query('SELECT pg_advisory_lock($1)', [lockId])
        try {
          return await fn(queries(c as unknown as Queryable, names))
        } finally {
          await c.query('SELECT pg_advisory_unlock($1)', [lockId]).catch(() => undefined)
        }
      }),
    close: () => pool.end(),
  }
}
