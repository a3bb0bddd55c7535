/**
 * The agent registry's two backends for suites that run against both (describe.each): SQLite in a
 * temp file through node-sqlite3-wasm, and PostgreSQL in a real server (test/support/postgres.ts)
 * with a database per `fresh()`. `open(location)` reopens the same database.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openPostgres } from '../../server/entry/postgres.ts'
import { openSqliteWasm } from '../../server/entry/sqlite-wasm.ts'
import { AgentRegistry } from '../../server/registry/registry.ts'
import { PgAgentRegistry } from '../../server/registry/registry-pg.ts'
import type { AgentStore } from '../../server/registry/store.ts'
import { postgresMissing, startPostgres, type TestPostgres } from './postgres.ts'

export interface Backend {
  readonly name: 'sqlite' | 'postgres'
  /** why this backend cannot run here (skip reason), or undefined */
  readonly missing: string | undefined
  setup(): Promise<void>
  teardown(): void
  /** a new empty database's location: a file path (SQLite) or a URL (PostgreSQL) */
  fresh(): Promise<string>
  open(location: string): Promise<AgentStore>
}

let counter = 0

export const sqliteBackend: Backend = {
  name: 'sqlite',
  missing: undefined,
  setup: async () => undefined,
  teardown: () => undefined,
  fresh: async () => join(mkdtempSync(join(tmpdir(), 'vouch-reg-')), 'agents.db'),
  open: async (path) => new AgentRegistry(openSqliteWasm(path)),
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
    open: async (url) => PgAgentRegistry.open(await openPostgres(url)),
  }
}

export const backends = (): Backend[] => [sqliteBackend, postgresBackend()]
