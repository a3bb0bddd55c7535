/**
 * The few synchronous SQL operations the agent registry needs, so server/ stays portable. The
 * drivers live in server/entry/: node-sqlite3-wasm on Node (sqlite-wasm.ts), bun:sqlite on Bun
 * (sqlite-bun.ts). Parameters are positional (`?`).
 */
export type SqlValue = string | number | null

export interface SqlDatabase {
  exec(sql: string): void
  run(sql: string, params?: readonly SqlValue[]): void
  get(sql: string, params?: readonly SqlValue[]): Record<string, SqlValue> | undefined
  all(sql: string, params?: readonly SqlValue[]): Record<string, SqlValue>[]
  close(): void
}
