/**
 * Opens the agent registry the config names: PostgreSQL when `database` is a postgres:// URL
 * (the `pg` client and the PostgreSQL registry are imported only then), else the embedded SQLite
 * file dataDir/agents.db through the runtime's SQLite driver. Either way the schema migrations
 * are applied before it returns.
 */
import { join } from 'node:path'
import { AgentRegistry } from '../registry/registry.ts'
import type { SqlDatabase } from '../registry/sql.ts'
import type { AgentStore } from '../registry/store.ts'

export type OpenSqlite = (path: string, options?: { onStaleLock?: (event: object) => void }) => SqlDatabase

export async function openAgentStore(
  config: { readonly dataDir: string; readonly database?: string },
  openSqlite: OpenSqlite,
  options?: { onStaleLock?: (event: object) => void },
): Promise<AgentStore> {
  if (config.database !== undefined) {
    const { openPostgres } = await import('./postgres.ts')
    const { PgAgentRegistry } = await import('../registry/registry-pg.ts')
    const db = await openPostgres(config.database)
    try {
      return await PgAgentRegistry.open(db)
    } catch (e) {
      await db.close().catch(() => undefined)
      throw e
    }
  }
  return new AgentRegistry(openSqlite(join(config.dataDir, 'agents.db'), options))
}
