/** SqlDatabase on bun:sqlite (built into Bun, native SQLite). The Bun driver. */
// @ts-expect-error bun:sqlite exists only under Bun; types are not installed for Node type checks
import { Database } from 'bun:sqlite'
import type { SqlDatabase, SqlValue } from '../registry/sql.ts'

interface BunStatement {
  run(...params: SqlValue[]): unknown
  get(...params: SqlValue[]): Record<string, SqlValue> | null
  all(...params: SqlValue[]): Record<string, SqlValue>[]
}
interface BunDatabase {
  exec(sql: string): void
  query(sql: string): BunStatement
  close(): void
}

export function openSqliteBun(path: string): SqlDatabase {
  const db = new Database(path, { create: true }) as BunDatabase
  return {
    exec: (sql) => db.exec(sql),
    run: (sql, params = []) => void db.query(sql).run(...params),
    get: (sql, params = []) => db.query(sql).get(...params) ?? undefined,
    all: (sql, params = []) => db.query(sql).all(...params),
    close: () => db.close(),
  }
}
