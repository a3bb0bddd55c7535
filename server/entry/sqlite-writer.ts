/**
 * The writer thread of a node-sqlite3-wasm connection (sqlite-wasm.ts `writerThread`): its own
 * connection to the same file, synchronous=FULL like the registry's, journal_mode=TRUNCATE. Each message is a batch of
 * statements run in order in one BEGIN IMMEDIATE ... COMMIT (ROLLBACK on a failure, reported back
 * with the driver's message); the reply carries each statement's first row. Messages are handled
 * one at a time, in order. `{ close: true }` closes the connection and ends the thread.
 */
import { parentPort, workerData } from 'node:worker_threads'
import type { SqlStatement } from '../registry/sql.ts'
import { openSqliteWasm } from './sqlite-wasm.ts'

const { path, busyTimeoutMs, staleLockMs } = workerData as { path: string; busyTimeoutMs: number; staleLockMs: number }
const db = openSqliteWasm(path, { busyTimeoutMs, staleLockMs, registerOwner: false })
db.exec('PRAGMA synchronous = FULL;')
// commits truncate the rollback journal instead of deleting it: as durable, without the directory
// change and its fsync (measured here: a 16-statement commit p50 12-24 ms against 16-27 ms). Other
// connections keep their own mode; a zero-length journal is never a hot one.
db.exec('PRAGMA journal_mode = TRUNCATE;')

parentPort!.on('message', (m: { id: number; statements: readonly SqlStatement[] } | { close: true }) => {
  if ('close' in m) {
    db.close()
    parentPort!.close()
    return
  }
  try {
    db.exec('BEGIN IMMEDIATE')
    try {
      const rows = m.statements.map((s) => db.get(s.sql, s.params))
      db.exec('COMMIT')
      parentPort!.postMessage({ id: m.id, rows })
    } catch (e) {
      db.exec('ROLLBACK')
      throw e
    }
  } catch (e) {
    parentPort!.postMessage({ id: m.id, error: e instanceof Error ? e.message : String(e) })
  }
})
