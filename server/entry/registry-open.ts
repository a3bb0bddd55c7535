/**
 * Opens the agent registry the config names: PostgreSQL when `database` is a postgres:// URL
 * (the `pg` client and the PostgreSQL registry are imported only then), else the embedded SQLite
 * file dataDir/agents.db through the runtime's SQLite driver. Either way the schema migrations
 * are applied before it returns, except with `migrate: false` (the CLI) on PostgreSQL: a shared
 * database is then only checked to hold this build's schema (registry-pg.ts checkPostgresSchema),
 * so an operator's newer CLI never moves it past what running replicas accept.
 */
import { join } from 'node:path'
import { AgentRegistry } from '../registry/registry.ts'
import type { SqlDatabase } from '../registry/sql.ts'
import type { AgentStore } from '../registry/store.ts'
import { type EntryStore, SqliteEntryStore } from '../registry/entries.ts'

export type OpenSqlite = (path: string, options?: { onStaleLock?: (event: object) => void }) => SqlDatabase

export async function openAgentStore(
  config: { readonly dataDir: string; readonly database?: string },
  openSqlite: OpenSqlite,
  options?: { onStaleLock?: (event: object) => void; readonly migrate?: boolean },
): Promise<AgentStore> {
  if (config.database !== undefined) {
    const { openPostgres } = await import('./postgres.ts')
    const { PgAgentRegistry } = await import('../registry/registry-pg.ts')
    const db = await openPostgres(config.database)
    try {
      return await PgAgentRegistry.open(db, { migrate: options?.migrate ?? true })
    } catch (e) {
      await db.close().catch(() => undefined)
      throw e
    }
  }
  return new AgentRegistry(openSqlite(join(config.dataDir, 'agents.db'), options?.onStaleLock ? { onStaleLock: options.onStaleLock } : {}))
}

/**
 * Opens the registration entries the config names, for `vouch entry` (the server builds its own
 * over the registry's database, bootstrap.ts): PostgreSQL when `database` is a postgres:// URL,
 * else dataDir/agents.db. Migrated before it returns; `close()` releases the database.
 */
export async function openEntryStore(
  config: { readonly dataDir: string; readonly database?: string },
  openSqlite: OpenSqlite,
  options: { readonly migrate?: boolean } = {},
): Promise<{ readonly entries: EntryStore; close(): Promise<void> }> {
  if (config.database !== undefined) {
    const { openPostgres } = await import('./postgres.ts')
    const { PgEntryStore } = await import('../registry/entries-pg.ts')
    const db = await openPostgres(config.database, { max: 2 })
    try {
      return { entries: await PgEntryStore.open(db, { migrate: options.migrate ?? true }), close: () => db.close() }
    } catch (e) {
      await db.close().catch(() => undefined)
      throw e
    }
  }
  const db = openSqlite(join(config.dataDir, 'agents.db'))
  try {
    return { entries: new SqliteEntryStore(db), close: async () => db.close() }
  } catch (e) {
    db.close()
    throw e
  }
}
