/**
 * Group commit on one SQLite connection. With synchronous=FULL every transaction costs a set of
 * fsyncs (and, on node-sqlite3-wasm, a journal file and a lock directory made and removed), so
 * writes that arrive together share one transaction: the use-once claims of answers coming in and
 * the attestation records of answers going out (server/registry/use-once.ts, registry.ts) queue
 * here and are run in order in one BEGIN IMMEDIATE ... COMMIT. Each caller is answered only after
 * the COMMIT; when an operation fails, the whole batch is rolled back and every caller in it
 * rejected (the next batch is unaffected).
 *
 * Two ways to run a batch, with the same outcome:
 * - on this thread (`op.run`, the SqlDatabase's own statements), flushed on the next timer turn;
 * - as statements (`op.statement`) on the driver's writer connection (SqlDatabase.writeTransaction,
 *   another thread), sent at the end of the event loop's turn: the caller's thread never blocks on
 *   the file system, and while one batch is being committed the next one gathers, so a batch grows
 *   with the wait (group commit).
 *
 * One batch per connection object (`writeBatchFor`), so every store over the same connection
 * shares it.
 */
import type { SqlDatabase, SqlStatement, SqlValue } from './sql.ts'

/**
 * When a batch for a writer elsewhere is sent: at the end of this turn of the event loop
 * (setImmediate, Node and Bun), not on a timer, whose 1 ms minimum every batch started on an idle
 * writer waited out (measured: 30-50% more attestations/s through the in-process app at 16 in
 * flight); while a batch is being committed the next one gathers for as long as that commit takes
 * anyway. A batch committed on this thread keeps the timer: it blocks the thread, so it waits for
 * what the next timer turn brings.
 */
export const defer: (f: () => void) => void =
  typeof setImmediate === 'function' ? (f) => void setImmediate(f) : (f) => void setTimeout(f, 0)

export interface WriteOp<T> {
  /** the write on this thread's connection, inside the batch's transaction */
  readonly run: (db: SqlDatabase) => T
  /**
   * the same write as statements run in order, for a writer connection elsewhere; read once, when
   * the batch is handed to that writer (a getter can take values at that moment: a use-once claim
   * reads its clock then)
   */
  readonly statements: readonly SqlStatement[]
  /** the result from each statement's first row (undefined when it gave none) */
  readonly fromRows: (rows: readonly (Record<string, SqlValue> | undefined)[]) => T
}

interface Pending {
  readonly op: WriteOp<unknown>
  readonly resolve: (value: unknown) => void
  readonly reject: (error: unknown) => void
}

export class SqlWriteBatch {
  private queue: Pending[] = []
  private committing = false

  constructor(private readonly db: SqlDatabase) {}

  /** Runs `op` in the next batch's transaction; resolves with its result once that batch is committed. */
  run<T>(op: WriteOp<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ op: op as WriteOp<unknown>, resolve: resolve as (value: unknown) => void, reject })
      if (this.queue.length === 1 && !this.committing) {
        if (this.db.writeTransaction) defer(() => this.flush())
        else setTimeout(() => this.flush(), 0)
      }
    })
  }

  private flush(): void {
    const batch = this.queue
    this.queue = []
    if (batch.length === 0) return
    if (this.db.writeTransaction) this.commitElsewhere(batch, this.db.writeTransaction.bind(this.db))
    else this.commitHere(batch)
  }

  private commitElsewhere(batch: Pending[], writeTransaction: NonNullable<SqlDatabase['writeTransaction']>): void {
    let statements: (readonly SqlStatement[])[]
    try {
      statements = batch.map((p) => p.op.statements)
    } catch (e) {
      for (const p of batch) p.reject(e)
      return
    }
    this.committing = true
    writeTransaction(statements.flat())
      .then(
        (rows) => {
          let at = 0
          for (const [i, p] of batch.entries()) {
            const n = statements[i]!.length
            try {
              p.resolve(p.op.fromRows(rows.slice(at, at + n)))
            } catch (e) {
              p.reject(e)
            }
            at += n
          }
        },
        (e: unknown) => {
          for (const p of batch) p.reject(e)
        },
      )
      .finally(() => {
        this.committing = false
        // what gathered while this batch was being committed goes next, at once
        if (this.queue.length > 0) this.flush()
      })
  }

  private commitHere(batch: Pending[]): void {
    const results: unknown[] = []
    try {
      this.db.exec('BEGIN IMMEDIATE')
      try {
        for (const p of batch) results.push(p.op.run(this.db))
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
