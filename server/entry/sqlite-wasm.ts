/**
 * SqlDatabase on node-sqlite3-wasm (SQLite compiled to WASM with a VFS over node:fs: real files,
 * no native addon, works on Node 20, which has no node:sqlite). The Node driver.
 *
 * Its VFS locks by creating the directory `<db>.lock` for the length of each statement. A process
 * killed inside a statement (kill -9) leaves that directory behind, and every later access would
 * fail. So a lock older than `staleLockMs` (statements take milliseconds) is removed on open and
 * when a statement fails while it is there; a fresh lock is waited for (busy_timeout). The driver's
 * SQLite3Error carries no result code, so the failure is recognised by its class and by the stale
 * lock directory on disk, never by its message text.
 */
import { rmdirSync, statSync } from 'node:fs'
import sqlite from 'node-sqlite3-wasm'
import type { SqlDatabase, SqlValue } from '../registry/sql.ts'

export interface SqliteWasmOptions {
  /** how long a statement waits for another process's lock; default 2000 ms */
  readonly busyTimeoutMs?: number
  /** a lock directory older than this is a crashed holder's; default 10 s */
  readonly staleLockMs?: number
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
  clearStaleLock(path, staleMs)
  const db = new sqlite.Database(path)
  db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyTimeoutMs ?? 2000))}`)
  const retry = <T>(op: () => T): T => {
    try {
      return op()
    } catch (e) {
      if (!(e instanceof sqlite.SQLite3Error) || !clearStaleLock(path, staleMs)) throw e
      return op()
    }
  }
  return {
    exec: (sql) => retry(() => db.exec(sql)),
    run: (sql, params = []) => retry(() => void db.run(sql, params as SqlValue[])),
    get: (sql, params = []) => retry(() => (db.get(sql, params as SqlValue[]) as Record<string, SqlValue> | null) ?? undefined),
    all: (sql, params = []) => retry(() => db.all(sql, params as SqlValue[]) as Record<string, SqlValue>[]),
    close: () => db.close(),
  }
}
