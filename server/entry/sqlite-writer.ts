/**
 * The writer thread of a node-sqlite3-wasm connection (sqlite-wasm.ts `writerThread`): its own
 * connection to the same file, synchronous=FULL like the registry's. Each message is a batch of
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
