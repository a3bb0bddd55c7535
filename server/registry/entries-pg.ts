/**
 * Registration entries on PostgreSQL, shared by every replica and worker (and `vouch entry` run
 * against the same `database:`): the EntryStore (entry-store.ts) of a server with `database:
 * postgres://...`, in the table of migration 5 (migrations.ts). Creation runs in one transaction
 * that first takes the transaction-level advisory lock ENTRIES_LOCK_ID, so creations from any
 * number of processes are serialized: each counts and looks for a duplicate after the previous one
 * committed (READ COMMITTED takes a new snapshot per statement), and two replicas creating at once
 * can neither pass a bound nor store the same entry twice. The unique index entries_identity
 * backs the duplicate check in the database itself. Reads and deletes take no lock. The links of
 * migration 8 (entry_parent_selectors), which listForAgent reads, are kept by a trigger in the
 * transaction of each insert and delete, adoptions included.
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
import { checkPostgresSchema, migratePostgres } from './registry-pg.ts'
import type { AsyncSqlDatabase, AsyncSqlQueries } from './sql.ts'
import { EntryError } from '../entries/errors.ts'

/** The key of the advisory lock every entry creation holds ("entry" in ASCII). */
export const ENTRIES_LOCK_ID = 0x656e747279

// byte order, as SQLite sorts (the database's collation may be a locale's)
const ORDER = 'ORDER BY spiffe_id COLLATE "C", id COLLATE "C"'

/** An entry's identity as entries_deleted keeps it: the MD5 of its SPIFFE ID, parent key and selectors. */
const IDENTITY = (spiffeId: string, parentKey: string, selectors: string) =>
  `md5(${spiffeId} || chr(10) || ${parentKey} || chr(10) || ${selectors})`
const identityParams = (e: RegistrationEntry) => [e.spiffeId, parentKey(e), JSON.stringify(e.selectors)]

export class PgEntryStore implements EntryStore {
  private readonly maxPerParent: number
  private readonly maxEntries: number

  /** Over a migrated database (the PostgreSQL agent registry's, PgAgentRegistry.queries); it does not close it. */
  constructor(
    private readonly db: AsyncSqlDatabase,
    options: EntryStoreOptions = {},
  ) {
    this.maxPerParent = options.maxEntriesPerParent ?? MAX_ENTRIES_PER_PARENT
    this.maxEntries = options.maxEntries ?? MAX_ENTRIES
  }

  /** Migrates the database (under the migration lock) and returns the store over it. */
  /** Migrates the schema first, or, with `migrate: false` (the CLI), only checks it is this build's (registry-pg.ts checkPostgresSchema). */
  static async open(db: AsyncSqlDatabase, options: EntryStoreOptions & { readonly migrate?: boolean } = {}): Promise<PgEntryStore> {
    if (options.migrate === false) await checkPostgresSchema(db)
    else await migratePostgres(db)
    return new PgEntryStore(db, options)
  }

  async create(spec: EntrySpec, now: number): Promise<RegistrationEntry> {
    const entry: RegistrationEntry = { ...spec, id: newEntryId(), createdAt: now }
    await this.db.transaction(async (tx) => {
      await tx.get('SELECT pg_advisory_xact_lock(?) AS locked', [ENTRIES_LOCK_ID])
      await this.checkAndInsert(tx, entry)
    })
    return entry
  }

  /**
   * Stores an entry made elsewhere with its own ID and creation time (a replica's SQLite entries
   * moving here, entries-import.ts), under the same lock, bounds and uniqueness as `create`:
   * 'present' when an entry of that ID is here already, 'exists' for another with the same SPIFFE
   * ID, parent and selectors, 'limit' past a bound.
   */
  async adopt(entry: RegistrationEntry): Promise<'added' | 'present' | 'exists' | 'limit' | 'deleted'> {
    return this.db.transaction(async (tx) => {
      await tx.get('SELECT pg_advisory_xact_lock(?) AS locked', [ENTRIES_LOCK_ID])
      if (await tx.get('SELECT id FROM entries WHERE id = ?', [entry.id])) return 'present'
      // deleted here since (another replica moved its copy first, then an operator deleted it)
      if (await tx.get(`SELECT 1 AS gone FROM entries_deleted WHERE identity = ${IDENTITY('?', '?', '?')}`, identityParams(entry)))
        return 'deleted'
      try {
        await this.checkAndInsert(tx, entry)
        return 'added'
      } catch (e) {
        if (e instanceof EntryError && e.code === 'ERR_ENTRY_EXISTS') return 'exists'
        if (e instanceof EntryError && e.code === 'ERR_ENTRY_LIMIT') return 'limit'
        throw e
      }
    })
  }

  /** The bounds, the duplicate check and the insert, on a transaction holding ENTRIES_LOCK_ID. */
  private async checkAndInsert(tx: AsyncSqlQueries, entry: RegistrationEntry): Promise<void> {
    const key = parentKey(entry)
    const selectors = JSON.stringify(entry.selectors)
    const total = Number((await tx.get('SELECT COUNT(*) AS n FROM entries'))?.n ?? 0)
    if (total >= this.maxEntries) throw totalLimit(total, this.maxEntries)
    const perParent = Number(
      (await tx.get('SELECT COUNT(*) AS n FROM entries WHERE md5(parent_key) = md5(?) AND parent_key = ?', [key, key]))?.n ?? 0,
    )
    if (perParent >= this.maxPerParent) throw parentLimit(perParent, this.maxPerParent)
    const dup = await tx.get(
      `SELECT id FROM entries WHERE spiffe_id = ? AND md5(parent_key) = md5(?) AND md5(selectors) = md5(?)
         AND parent_key = ? AND selectors = ?`,
      [entry.spiffeId, key, selectors, key, selectors],
    )
    if (dup) throw entryExists(String(dup.id))
    await tx.run(INSERT_ENTRY, entryParams(entry))
  }

  async get(id: string): Promise<RegistrationEntry | undefined> {
    if (!ENTRY_ID.test(id)) return undefined
    const row = await this.db.get('SELECT * FROM entries WHERE id = ?', [id])
    return row ? toEntry(row) : undefined
  }

  async list(): Promise<RegistrationEntry[]> {
    return (await this.db.all(`SELECT * FROM entries ${ORDER}`)).map(toEntry)
  }

  /** Deletes the entry and remembers its identity (entries_deleted), so no older copy of it is adopted later. */
  async delete(id: string): Promise<boolean> {
    if (!ENTRY_ID.test(id)) return false
    const rows = await this.db.all(
      `WITH gone AS (DELETE FROM entries WHERE id = ? RETURNING spiffe_id, parent_key, selectors)
       INSERT INTO entries_deleted (identity, deleted_at)
         SELECT ${IDENTITY('spiffe_id', 'parent_key', 'selectors')}, CAST(extract(epoch FROM clock_timestamp()) * 1000 AS BIGINT) FROM gone
       ON CONFLICT (identity) DO UPDATE SET deleted_at = excluded.deleted_at
       RETURNING identity`,
      [id],
    )
    return rows.length > 0
  }

  /** As the SQLite store's (entries.ts): the parent key's index, then the links of migration 8, in one snapshot each. */
  async listForAgent(agentId: string, agentSelectors: readonly string[]): Promise<RegistrationEntry[]> {
    const set = new Set(agentSelectors)
    // a selector PostgreSQL's JSON cannot read (a NUL, a lone surrogate: a certificate's name may
    // carry them) is no entry's parent selector (validate.ts refuses both): it is left out of the query
    const linkable = [...set].filter((s) => !s.includes('\u0000') && !/\p{Cs}/u.test(s))
    const [byId, bySelectors] = await Promise.all([
      this.db.all(PG_AGENT_ENTRIES_BY_ID, [agentId, agentId]),
      linkable.length === 0 ? [] : this.db.all(PG_AGENT_ENTRIES_BY_SELECTORS, [JSON.stringify(linkable)]),
    ])
    return [...byId, ...bySelectors].map(toEntry).filter((e) => isParentedTo(e, agentId, set))
  }
}

/** The entries parented by an agent's SPIFFE ID, through the MD5 index of the parent key. */
export const PG_AGENT_ENTRIES_BY_ID = `SELECT * FROM entries WHERE md5(parent_key) = md5(?) AND parent_id = ? ${ORDER}`

/**
 * The selector-parented entries whose parent selectors are all among an agent's (the parameter: a
 * JSON array of them), as on SQLite: the selectors as one array, so the links' primary key is
 * searched for each (`= ANY`), grouped by entry, then those entries by primary key.
 */
export const PG_AGENT_ENTRIES_BY_SELECTORS = `SELECT * FROM entries WHERE id IN (
  SELECT entry_id FROM entry_parent_selectors
  WHERE selector = ANY (ARRAY(SELECT jsonb_array_elements_text(CAST(? AS jsonb))))
  GROUP BY entry_id HAVING count(*) = max(selector_count)
) ${ORDER}`
