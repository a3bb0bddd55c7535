/**
 * Group commit on one SQLite connection. With synchronous=FULL every transaction costs a set of
 * fsyncs (and, on node-sqlite3-wasm, a journal file and a lock directory made and removed), so
 * writes that arrive together share one transaction: the use-once claims of answers coming in and
 * the attestation records of answers going out (server/registry/use-once.ts, registry.ts) queue
 * here and are run in order in one BEGIN IMMEDIATE ... COMMIT, flushed on the next timer turn.
 * Each caller is answered only after the COMMIT; when an operation throws, the whole batch is
 * rolled back and every caller in it rejected (the next batch is unaffected).
 *
 * One batch per connection object (`writeBatchFor`), so every store over the same connection
 * shares it.
 */
import type { SqlDatabase } from './sql.ts'

interface Pending {
  readonly op: (db: SqlDatabase) => unknown
  readonly resolve: (value: unknown) => void
  readonly reject: (error: unknown) => void
}

export class SqlWriteBatch {
  private queue: Pending[] = []

  constructor(private readonly db: SqlDatabase) {}

  /** Runs `op` inside the next batch's transaction; resolves with its result once that batch is committed. */
  run<T>(op: (db: SqlDatabase) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op, resolve: resolve as (value: unknown) => void, reject })
      if (this.queue.length === 1) setTimeout(() => this.flush(), 0)
    })
  }

  private flush(): void {
    const batch = this.queue
    this.queue = []
    const results: unknown[] = []
    try {
      this.db.exec('BEGIN IMMEDIATE')
      try {
        for (const p of batch) results.push(p.op(this.db))
        this.db.exec('COMMIT')
      } catch (e) {
        this.db.exec('ROLLBACK')
        throw e
      }
    } catch (e) {
      for (const p of batch) p.reject(e)
      return
    }
    batch.forEach((p, i) => {
      p.resolve(results[i])
    })
  }
}

const batches = new WeakMap<SqlDatabase, SqlWriteBatch>()

/** The write batch of a connection (made on first use). */
export function writeBatchFor(db: SqlDatabase): SqlWriteBatch {
  let b = batches.get(db)
  if (!b) {
    b = new SqlWriteBatch(db)
    batches.set(db, b)
  }
  return b
}
