/**
 * The few synchronous SQL operations the agent registry needs, so server/ stays portable. The
 * drivers live in server/entry/: node-sqlite3-wasm on Node (sqlite-wasm.ts), bun:sqlite on Bun
 * (sqlite-bun.ts). Parameters are positional (`?`).
 */
export type SqlValue = string | number | null

export interface SqlStatement {
  readonly sql: string
  readonly params: readonly SqlValue[]
}

export interface SqlDatabase {
  exec(sql: string): void
  run(sql: string, params?: readonly SqlValue[]): void
  get(sql: string, params?: readonly SqlValue[]): Record<string, SqlValue> | undefined
  all(sql: string, params?: readonly SqlValue[]): Record<string, SqlValue>[]
  close(): void
  /**
   * Optional: runs the statements in order in one BEGIN IMMEDIATE ... COMMIT on a connection of its
   * own to the same file, off the calling thread (the Node driver's writer thread, sqlite-wasm.ts),
   * so the caller never waits on the file system; ROLLBACK and reject when one fails. Resolves with
   * each statement's first row. The write batch (write-batch.ts) uses it when present.
   */
  writeTransaction?(statements: readonly SqlStatement[]): Promise<(Record<string, SqlValue> | undefined)[]>
}

/**
 * The asynchronous counterpart, for a client/server database (PostgreSQL, server/entry/postgres.ts).
 * Parameters are positional (`?`, rewritten by the driver). `transaction` runs `fn` on one
 * connection between BEGIN and COMMIT (ROLLBACK when it throws); `withLock` holds a session-level
 * advisory lock on one connection while `fn` runs.
 */
export interface AsyncSqlQueries {
  exec(sql: string): Promise<void>
  /** the number of rows changed */
  run(sql: string, params?: readonly SqlValue[]): Promise<number>
  get(sql: string, params?: readonly SqlValue[]): Promise<Record<string, SqlValue> | undefined>
  /**
   * `prepare`: a statement run again and again with the same text (the batch statements); the
   * driver may keep it prepared per connection, by name (PostgreSQL: parsed and planned once)
   */
  all(sql: string, params?: readonly SqlValue[], options?: { readonly prepare?: boolean }): Promise<Record<string, SqlValue>[]>
}

export interface AsyncSqlDatabase extends AsyncSqlQueries {
  transaction<T>(fn: (tx: AsyncSqlQueries) => Promise<T>): Promise<T>
  withLock<T>(lockId: number, fn: (conn: AsyncSqlQueries) => Promise<T>): Promise<T>
  close(): Promise<void>
}
