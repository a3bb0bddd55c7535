/**
 * Registration entries in the embedded SQLite registry database (agents.db, beside the agents
 * table): the EntryStore (entry-store.ts) of a server without `database:`. The table is migration
 * 5 (migrations.ts), applied on open, so `vouch entry create` may run before the server's first
 * start. Creation checks both bounds and the uniqueness and inserts in one IMMEDIATE transaction:
 * SQLite's write lock serializes it against every other connection to the file. The links of
 * migration 8 (entry_parent_selectors) are kept by triggers in the same transaction as each write,
 * and serve listForAgent.
 */
import { MAX_ENTRIES, MAX_ENTRIES_PER_PARENT, isParentedTo, type EntrySpec, type RegistrationEntry } from '../entries/validate.ts'
import {
  ENTRY_ID,
  type EntryStore,
  type EntryStoreOptions,
  entryExists,
  entryParams,
  INSERT_ENTRY,
  newEntryId,
  parentKey,
  parentLimit,
  toEntry,
  totalLimit,
} from './entry-store.ts'
import { migrateSqlite } from './registry.ts'
import type { SqlDatabase } from './sql.ts'

export { ENTRY_ID, type EntryStore, type EntryStoreOptions, entryJson } from './entry-store.ts'

export class SqliteEntryStore implements EntryStore {
  private readonly maxPerParent: number
  private readonly maxEntries: number

  constructor(
    private readonly db: SqlDatabase,
    options: EntryStoreOptions = {},
  ) {
    this.maxPerParent = options.maxEntriesPerParent ?? MAX_ENTRIES_PER_PARENT
    this.maxEntries = options.maxEntries ?? MAX_ENTRIES
    db.exec('PRAGMA synchronous = FULL;')
    migrateSqlite(db)
  }

  create(spec: EntrySpec, now: number): RegistrationEntry {
    const entry: RegistrationEntry = { ...spec, id: newEntryId(), createdAt: now }
    const key = parentKey(spec)
    this.db.exec('BEGIN IMMEDIATE')
    try {
      const total = Number(this.db.get('SELECT COUNT(*) AS n FROM entries')?.n ?? 0)
      if (total >= this.maxEntries) throw totalLimit(total, this.maxEntries)
      const perParent = Number(this.db.get('SELECT COUNT(*) AS n FROM entries WHERE parent_key = ?', [key])?.n ?? 0)
      if (perParent >= this.maxPerParent) throw parentLimit(perParent, this.maxPerParent)
      const dup = this.db.get('SELECT id FROM entries WHERE spiffe_id = ? AND parent_key = ? AND selectors = ?', [
        spec.spiffeId,
        key,
        JSON.stringify(spec.selectors),
      ])
      if (dup) throw entryExists(String(dup.id))
      this.db.run(INSERT_ENTRY, entryParams(entry))
      this.db.exec('COMMIT')
    } catch (e) {
      this.db.exec('ROLLBACK')
      throw e
    }
    return entry
  }

  get(id: string): RegistrationEntry | undefined {
    if (!ENTRY_ID.test(id)) return undefined
    const row = this.db.get('SELECT * FROM entries WHERE id = ?', [id])
    return row ? toEntry(row) : undefined
  }

  list(): RegistrationEntry[] {
    return this.db.all('SELECT * FROM entries ORDER BY spiffe_id, id').map(toEntry)
  }

  delete(id: string): boolean {
    if (!this.get(id)) return false
    this.db.run('DELETE FROM entries WHERE id = ?', [id])
    return true
  }

  /**
   * Two lookups through indexes, never a scan of the entries: those parented by the agent's ID
   * (entries_parent_key), then those whose parent selectors are all among the agent's, found in the
   * links of migration 8 (AGENT_ENTRIES_BY_SELECTORS). isParentedTo stays the last word on each.
   */
  listForAgent(agentId: string, agentSelectors: readonly string[]): RegistrationEntry[] {
    const set = new Set(agentSelectors)
    const byId = this.db.all(AGENT_ENTRIES_BY_ID, [agentId, agentId]).map(toEntry)
    const bySelectors = set.size === 0 ? [] : this.db.all(AGENT_ENTRIES_BY_SELECTORS, [JSON.stringify([...set])]).map(toEntry)
    return [...byId, ...bySelectors].filter((e) => isParentedTo(e, agentId, set))
  }
}

/** The entries parented by an agent's SPIFFE ID (its parent key), by SPIFFE ID then ID. */
export const AGENT_ENTRIES_BY_ID = 'SELECT * FROM entries WHERE parent_key = ? AND parent_id = ? ORDER BY spiffe_id, id'

/**
 * The selector-parented entries whose parent selectors are all among an agent's (the parameter: a
 * JSON array of them): the links of those selectors (the primary key's prefix), grouped by entry,
 * kept where every parent selector of the entry is there; then those entries by primary key, by
 * SPIFFE ID then ID.
 */
export const AGENT_ENTRIES_BY_SELECTORS = `SELECT * FROM entries WHERE id IN (
  SELECT entry_id FROM entry_parent_selectors WHERE selector IN (SELECT value FROM json_each(?))
  GROUP BY entry_id HAVING count(*) = max(selector_count)
) ORDER BY spiffe_id, id`
