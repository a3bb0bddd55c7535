/**
 * The agent registry's two backends for suites that run against both (describe.each): SQLite in a
 * temp file through node-sqlite3-wasm, and PostgreSQL in a real server (test/support/postgres.ts)
 * with a database per `fresh()`. `open(location)` reopens the same database; `openEntries(location)`
 * opens its registration entries on a connection of their own (another process, as it were).
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openPostgres } from '../../server/entry/postgres.ts'
import { openSqliteWasm } from '../../server/entry/sqlite-wasm.ts'
import { AgentRegistry } from '../../server/registry/registry.ts'
import { PgAgentRegistry } from '../../server/registry/registry-pg.ts'
import type { AgentStore } from '../../server/registry/store.ts'
import { SqliteEntryStore } from '../../server/registry/entries.ts'
import { PgEntryStore } from '../../server/registry/entries-pg.ts'
import type { EntryStore, EntryStoreOptions } from '../../server/registry/entry-store.ts'
import { postgresMissing, startPostgres, type TestPostgres } from './postgres.ts'

export interface Backend {
  readonly name: 'sqlite' | 'postgres'
  /** why this backend cannot run here (skip reason), or undefined */
  readonly missing: string | undefined
  setup(): Promise<void>
  teardown(): void
  /** a new empty database's location: a file path (SQLite) or a URL (PostgreSQL) */
  fresh(): Promise<string>
  /** a new database as a server of this build leaves it: migrated (the CLI does not migrate PostgreSQL) */
  migrated(): Promise<string>
  open(location: string): Promise<AgentStore>
  /** the entry store of the database at `location` (migrated), and how to close it */
  openEntries(location: string, options?: EntryStoreOptions): Promise<{ entries: EntryStore; close(): Promise<void> }>
}

let counter = 0

export const sqliteBackend: Backend = {
  name: 'sqlite',
  missing: undefined,
  setup: async () => undefined,
  teardown: () => undefined,
  fresh: async () => join(mkdtempSync(join(tmpdir(), 'vouch-reg-')), 'agents.db'),
  migrated: async () => join(mkdtempSync(join(tmpdir(), 'vouch-reg-')), 'agents.db'),
  open: async (path) => new AgentRegistry(openSqliteWasm(path)),
  openEntries: async (path, options) => {
    const db = openSqliteWasm(path)
    return { entries: new SqliteEntryStore(db, options), close: async () => db.close() }
  },
}

export function postgresBackend(): Backend {
  let server: TestPostgres | undefined
  return {
    name: 'postgres',
    missing: postgresMissing(),
    async setup() {
      server = await startPostgres()
    },
    teardown() {
      server?.stop()
      server = undefined
    },
    fresh: () => server!.createDatabase(`vouch_${process.pid}_${++counter}`),
    async migrated() {
      const url = await server!.createDatabase(`vouch_${process.pid}_${++counter}`)
      await (await PgAgentRegistry.open(await openPostgres(url))).close()
      return url
    },
    open: async (url) => PgAgentRegistry.open(await openPostgres(url)),
    openEntries: async (url, options) => {
      const db = await openPostgres(url, { max: 2 })
      return { entries: await PgEntryStore.open(db, options), close: () => db.close() }
    },
  }
}

export const backends = (): Backend[] => [sqliteBackend, postgresBackend()]
