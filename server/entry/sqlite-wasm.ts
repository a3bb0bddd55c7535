/**
 * SqlDatabase on node-sqlite3-wasm (SQLite compiled to WASM with a VFS over node:fs: real files,
 * no native addon, works on Node 20, which has no node:sqlite). The Node driver.
 *
 * Its VFS locks by creating the directory `<db>.lock` for the length of each statement. A process
 * killed inside a statement (kill -9) leaves that directory behind, and every later access would
 * be "database is locked". So a lock older than `staleLockMs` (statements take milliseconds) is
 * removed on open and when a statement meets it; a fresh lock is waited for (busy_timeout).
 *
 * Waiting out the age after a crash delays the restart, so every process that opens the file
 * also registers in `<db>.owners/<pid>` (its pid, its start time from /proc, its host name) and
 * removes the entry on close. A lock met when a registered owner is found gone (dead pid, or the
 * pid now belongs to a process started at another time) and no other registered owner lives is
 * the crashed owner's: it is removed at once and reported (`onStaleLock`). An owner on another
 * host, or a lock with no owner entry to explain it (a process that does not register), leaves
 * only the age rule.
 *
 * The driver's SQLite3Error carries no result code, so a statement's failure is recognised by its
 * class and by the lock directory on disk, never by its message text.
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import sqlite from 'node-sqlite3-wasm'
import { Worker } from 'node:worker_threads'
import type { SqlDatabase, SqlStatement, SqlValue } from '../registry/sql.ts'

export interface SqliteWasmOptions {
  /** how long a statement waits for another process's lock; default 2000 ms */
  readonly busyTimeoutMs?: number
  /** a lock directory older than this is a crashed holder's; default 10 s */
  readonly staleLockMs?: number
  /** told each time a lock is removed as stale, and why */
  readonly onStaleLock?: (event: StaleLockEvent) => void
  /**
   * Commit batched writes (SqlDatabase.writeTransaction) on a writer thread with its own connection
   * (sqlite-writer.ts, started on first use), so this thread never waits on fsync, the journal or the
   * lock directory. The server's registry turns it on (server/entry/node.ts); default off.
   */
  readonly writerThread?: boolean
  /** register this process in `<db>.owners` (default true; the writer thread's connection does not) */
  readonly registerOwner?: boolean
}

export interface StaleLockEvent {
  /** 'holders-gone': no registered owner is alive; 'age': the lock is older than staleLockMs */
  readonly reason: 'holders-gone' | 'age'
  /** the pids of the owners found dead */
  readonly deadOwners: readonly number[]
  readonly when: 'open' | 'statement'
}

interface Owner {
  readonly pid: number
  readonly start: string
  readonly host: string
}

/** A process's start time (field 22 of /proc/<pid>/stat), or '' where /proc is not there. */
export function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? ''
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      try {
        readdirSync('/proc/self')
        return undefined // /proc works and this pid is not in it: gone
      } catch {
        // no /proc: fall back to signal 0
      }
    }
    try {
      process.kill(pid, 0)
      return ''
    } catch (k) {
      return (k as NodeJS.ErrnoException).code === 'EPERM' ? '' : undefined
    }
  }
}

const ownersDir = (path: string) => `${path}.owners`

/** Registers this process as an owner of `path`. */
function registerOwner(path: string): string {
  const dir = ownersDir(path)
  mkdirSync(dir, { recursive: true })
  const file = join(dir, String(process.pid))
  const me: Owner = { pid: process.pid, start: processStart(process.pid) ?? '', host: hostname() }
  writeFileSync(file, JSON.stringify(me))
  return file
}

/**
 * Whether a registered owner may be alive: undefined when it cannot be told (no owners directory,
 * or an owner on another host), else the dead owners (removed) and whether any is alive.
 */
function checkOwners(path: string, self?: string): { alive: boolean; dead: number[] } | undefined {
  const dir = ownersDir(path)
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return undefined
  }
  const dead: number[] = []
  let alive = false
  for (const name of names) {
    const file = join(dir, name)
    if (file === self) continue
    let owner: Owner
    try {
      owner = JSON.parse(readFileSync(file, 'utf8')) as Owner
    } catch {
      alive = true // being written (or torn): cannot tell, so the age rule decides
      continue
    }
    if (owner.host !== hostname()) return undefined
    // this pid is ours and we have not registered yet (open): an earlier process with our pid
    const gone =
      (owner.pid === process.pid && file !== self) ||
      (() => {
        const start = processStart(owner.pid)
        return start === undefined || (start !== '' && owner.start !== '' && start !== owner.start)
      })()
    if (gone) {
      dead.push(owner.pid)
      rmSync(file, { force: true })
    } else alive = true
  }
  return { alive, dead }
}

/** Removes `<path>.lock` when it is older than `staleMs`; true when it did. */
export function clearStaleLock(path: string, staleMs: number): boolean {
  const lock = `${path}.lock`
  try {
    if (Date.now() - statSync(lock).mtimeMs < staleMs) return false
    rmdirSync(lock)
    return true
  } catch {
    return false
  }
}

export function openSqliteWasm(path: string, options: SqliteWasmOptions = {}): SqlDatabase {
  const staleMs = options.staleLockMs ?? 10_000
  let self: string | undefined
  /** removes the lock when its holder is known gone, or by age; true when it did */
  const clearIfStale = (when: 'open' | 'statement'): boolean => {
    const lock = `${path}.lock`
    try {
      statSync(lock)
    } catch {
      return false
    }
    const owners = checkOwners(path, self)
    if (owners && !owners.alive && owners.dead.length > 0) {
      try {
        rmdirSync(lock)
      } catch {
        return false
      }
      options.onStaleLock?.({ reason: 'holders-gone', deadOwners: owners.dead, when })
      return true
    }
    if (!clearStaleLock(path, staleMs)) return false
    options.onStaleLock?.({ reason: 'age', deadOwners: owners?.dead ?? [], when })
    return true
  }
  clearIfStale('open')
  if (options.registerOwner !== false) self = registerOwner(path)
  const db = new sqlite.Database(path)
  db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 2000))}`)
  // a statement met by a crashed holder's lock runs again once the lock is cleared, but never one
  // inside a transaction: the transaction's earlier statements may have been rolled back with the
  // failure, and a statement that depends on them (the upsert guarded by its claim's changes())
  // would run alone
  const retry = <T>(op: () => T): T => {
    const inTransaction = db.inTransaction
    try {
      return op()
    } catch (e) {
      if (inTransaction || !(e instanceof sqlite.SQLite3Error) || !clearIfStale('statement')) throw e
      return op()
    }
  }
  const writer = options.writerThread ? writerThread(path, options) : undefined
  const statements = new PreparedStatements(db)
  return {
    ...(writer ? { writeTransaction: writer.transaction } : {}),
    exec: (sql) => retry(() => db.exec(sql)),
    run: (sql, params = []) => retry(() => void statements.use(sql, (s) => s.all(params as SqlValue[]))),
    get: (sql, params = []) =>
      retry(() => statements.use(sql, (s) => s.all(params as SqlValue[])[0] as Record<string, SqlValue> | undefined)),
    all: (sql, params = []) => retry(() => statements.use(sql, (s) => s.all(params as SqlValue[]) as Record<string, SqlValue>[])),
    close: () => {
      writer?.close()
      statements.finalizeAll()
      db.close()
      if (self) rmSync(self, { force: true })
    },
  }
}

/** most prepared statements kept per connection (the registry and stores use a few dozen SQL texts) */
export const MAX_PREPARED_STATEMENTS = 64

type Statement = ReturnType<InstanceType<typeof sqlite.Database>['prepare']>

/**
 * Prepared statements of one connection, by SQL text, least recently used out first. Preparing a
 * statement costs more than running it (measured on node-sqlite3-wasm: a use-once claim and an
 * agent upsert, 133 µs unprepared against 20 µs prepared). Each use runs the statement to its end
 * (`all`, never a half-stepped `get`), so no statement is left in progress to hold a transaction
 * open; a statement that throws is finalized and forgotten, and the next use prepares it again.
 * SQLite re-prepares a kept statement by itself after a schema change (sqlite3_prepare_v2), but the
 * driver takes the column names before that happens: a statement whose SQL has a `*` (its columns
 * could change with the schema) is never kept.
 */
class PreparedStatements {
  private readonly cache = new Map<string, Statement>()

  constructor(private readonly db: InstanceType<typeof sqlite.Database>) {}

  use<T>(sql: string, run: (s: Statement) => T): T {
    if (sql.includes('*')) return this.once(sql, run)
    let s = this.cache.get(sql)
    if (s) this.cache.delete(sql)
    else s = this.db.prepare(sql)
    let result: T
    try {
      result = run(s)
    } catch (e) {
      try {
        s.finalize()
      } catch {
        // finalize repeats the failed step's error: the one thrown below is the statement's own
      }
      throw e
    }
    this.cache.set(sql, s)
    if (this.cache.size > MAX_PREPARED_STATEMENTS) {
      const [oldest, statement] = this.cache.entries().next().value!
      this.cache.delete(oldest)
      statement.finalize()
    }
    return result
  }

  /** prepared, run and finalized: the driver reads a statement's column names before SQLite re-prepares it, so a kept `SELECT *` would miss a column added since */
  private once<T>(sql: string, run: (s: Statement) => T): T {
    const s = this.db.prepare(sql)
    try {
      return run(s)
    } finally {
      s.finalize()
    }
  }

  finalizeAll(): void {
    for (const s of this.cache.values()) s.finalize()
    this.cache.clear()
  }
}

interface WriterReply {
  readonly id: number
  readonly rows?: (Record<string, SqlValue> | undefined)[]
  readonly error?: string
}

/**
 * The writer thread of a connection: started on the first transaction, kept referenced only while
 * one is pending (an idle writer does not hold the process open). A thread that dies rejects what
 * was pending; the next transaction starts a new one.
 */
function writerThread(path: string, options: SqliteWasmOptions) {
  let worker: Worker | undefined
  let next = 0
  const pending = new Map<number, { resolve: (rows: (Record<string, SqlValue> | undefined)[]) => void; reject: (e: Error) => void }>()
  const fail = (e: Error) => {
    for (const p of pending.values()) p.reject(e)
    pending.clear()
    worker = undefined
  }
  const start = (): Worker => {
    // compiled: sqlite-writer.js beside this file; from source (tsx, vitest): the .ts, loaded
    // through tsx's loader registered in the thread first (a thread does not inherit it)
    const workerData = { path, busyTimeoutMs: options.busyTimeoutMs ?? 2000, staleLockMs: options.staleLockMs ?? 10_000 }
    const w = import.meta.url.endsWith('.ts')
      ? new Worker(
          `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./sqlite-writer.ts', import.meta.url).href)}) })`,
          { eval: true, workerData },
        )
      : new Worker(new URL('./sqlite-writer.js', import.meta.url), { workerData })
    w.on('message', (m: WriterReply) => {
      const p = pending.get(m.id)
      if (!p) return
      pending.delete(m.id)
      if (pending.size === 0) w.unref()
      if (m.error !== undefined) p.reject(new Error(m.error))
      else p.resolve(m.rows ?? [])
    })
    w.on('error', (e) => {
      if (worker === w) fail(e)
    })
    w.on('exit', (code) => {
      if (worker === w) fail(new Error(`SQLite writer thread exited (${code})`))
    })
    return w
  }
  let closed = false
  return {
    transaction: (statements: readonly SqlStatement[]) =>
      new Promise<(Record<string, SqlValue> | undefined)[]>((resolve, reject) => {
        if (closed) return reject(new Error('SQLite writer: the database is closed'))
        worker ??= start()
        const id = next++
        pending.set(id, { resolve, reject })
        worker.ref()
        worker.postMessage({ id, statements })
      }),
    close: () => {
      closed = true
      const w = worker
      worker = undefined
      if (!w) return
      // the thread finishes what is queued, closes its connection and exits
      w.postMessage({ close: true })
      w.unref()
    },
  }
}
