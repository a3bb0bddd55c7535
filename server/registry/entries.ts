/**
 * Registration entries in the registry database (the same SqlDatabase as the agents table, so a
 * future PostgreSQL backend serves both). One row per entry; selectors and DNS names are JSON
 * arrays, sorted. `parent_key` is the parent ID, or `selectors:` and the parent selectors as JSON,
 * for the per-parent bound and the uniqueness of (SPIFFE ID, parent, selectors). Creation checks
 * both bounds and inserts in one IMMEDIATE transaction.
 */
import { EntryError } from '../entries/errors.ts'
import { MAX_ENTRIES, MAX_ENTRIES_PER_PARENT, isParentedTo, type EntrySpec, type RegistrationEntry } from '../entries/validate.ts'
import type { SqlDatabase, SqlValue } from './sql.ts'

const SCHEMA = `
CREATE TABLE IF NOT EXISTS entries (
  id TEXT PRIMARY KEY,
  spiffe_id TEXT NOT NULL,
  parent_id TEXT,
  parent_selectors TEXT NOT NULL,
  parent_key TEXT NOT NULL,
  selectors TEXT NOT NULL,
  x509_svid_ttl INTEGER,
  jwt_svid_ttl INTEGER,
  dns_names TEXT NOT NULL,
  created_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS entries_parent_key ON entries (parent_key);
CREATE UNIQUE INDEX IF NOT EXISTS entries_identity ON entries (spiffe_id, parent_key, selectors);
`

/** Entry IDs: 32 lowercase hex digits (128 random bits). */
export const ENTRY_ID = /^[0-9a-f]{32}$/

function parentKey(e: EntrySpec): string {
  return e.parentId ?? `selectors:${JSON.stringify(e.parentSelectors)}`
}

function toEntry(row: Record<string, SqlValue>): RegistrationEntry {
  return {
    id: String(row.id),
    spiffeId: String(row.spiffe_id),
    parentId: row.parent_id === null || row.parent_id === undefined ? null : String(row.parent_id),
    parentSelectors: JSON.parse(String(row.parent_selectors)) as string[],
    selectors: JSON.parse(String(row.selectors)) as string[],
    x509SvidTtlSeconds: row.x509_svid_ttl === null || row.x509_svid_ttl === undefined ? null : Number(row.x509_svid_ttl),
    jwtSvidTtlSeconds: row.jwt_svid_ttl === null || row.jwt_svid_ttl === undefined ? null : Number(row.jwt_svid_ttl),
    dnsNames: JSON.parse(String(row.dns_names)) as string[],
    createdAt: Number(row.created_at),
  }
}

export interface EntryStoreOptions {
  /** default MAX_ENTRIES_PER_PARENT */
  readonly maxEntriesPerParent?: number
  /** default MAX_ENTRIES */
  readonly maxEntries?: number
}

function newEntryId(): string {
  return [...globalThis.crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('')
}

export class EntryStore {
  private readonly maxPerParent: number
  private readonly maxEntries: number

  constructor(
    private readonly db: SqlDatabase,
    options: EntryStoreOptions = {},
  ) {
    this.maxPerParent = options.maxEntriesPerParent ?? MAX_ENTRIES_PER_PARENT
    this.maxEntries = options.maxEntries ?? MAX_ENTRIES
    db.exec('PRAGMA synchronous = FULL;')
    db.exec(SCHEMA)
  }

  /** Stores a validated entry (checkEntryInput). Throws ERR_ENTRY_LIMIT or ERR_ENTRY_EXISTS. */
  create(spec: EntrySpec, now: number): RegistrationEntry {
    const entry: RegistrationEntry = { ...spec, id: newEntryId(), createdAt: now }
    const key = parentKey(spec)
    const selectors = JSON.stringify(spec.selectors)
    this.db.exec('BEGIN IMMEDIATE')
    try {
      const total = Number(this.db.get('SELECT COUNT(*) AS n FROM entries')?.n ?? 0)
      if (total >= this.maxEntries)
        throw new EntryError('ERR_ENTRY_LIMIT', `the registry holds ${total} entries, at most ${this.maxEntries}`)
      const perParent = Number(this.db.get('SELECT COUNT(*) AS n FROM entries WHERE parent_key = ?', [key])?.n ?? 0)
      if (perParent >= this.maxPerParent)
        throw new EntryError('ERR_ENTRY_LIMIT', `parent: already has ${perParent} entries, at most ${this.maxPerParent}`)
      const dup = this.db.get('SELECT id FROM entries WHERE spiffe_id = ? AND parent_key = ? AND selectors = ?', [
        spec.spiffeId,
        key,
        selectors,
      ])
      if (dup)
        throw new EntryError('ERR_ENTRY_EXISTS', `entry ${String(dup.id)} has the same spiffeId, parent and selectors`, {
          detail: { id: String(dup.id) },
        })
      this.db.run(
        `INSERT INTO entries (id, spiffe_id, parent_id, parent_selectors, parent_key, selectors, x509_svid_ttl, jwt_svid_ttl, dns_names, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [
          entry.id,
          spec.spiffeId,
          spec.parentId,
          JSON.stringify(spec.parentSelectors),
          key,
          selectors,
          spec.x509SvidTtlSeconds,
          spec.jwtSvidTtlSeconds,
          JSON.stringify(spec.dnsNames),
          now,
        ],
      )
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

  /** Deletes an entry; false when there is none. */
  delete(id: string): boolean {
    if (!this.get(id)) return false
    this.db.run('DELETE FROM entries WHERE id = ?', [id])
    return true
  }

  /** The entries parented to an agent: by its exact SPIFFE ID, or by a subset of its selectors. */
  listForAgent(agentId: string, agentSelectors: readonly string[]): RegistrationEntry[] {
    const set = new Set(agentSelectors)
    const byId = this.db.all('SELECT * FROM entries WHERE parent_id = ? ORDER BY spiffe_id, id', [agentId]).map(toEntry)
    const bySelectors = this.db
      .all('SELECT * FROM entries WHERE parent_id IS NULL ORDER BY spiffe_id, id')
      .map(toEntry)
      .filter((e) => isParentedTo(e, agentId, set))
    return [...byId, ...bySelectors]
  }
}

/** An entry as JSON, for the agent (`GET /v1/entries`) and the operator (`vouch entry --output json`). */
export function entryJson(e: RegistrationEntry) {
  return {
    id: e.id,
    spiffeId: e.spiffeId,
    parentId: e.parentId,
    parentSelectors: e.parentSelectors,
    selectors: e.selectors,
    x509SvidTtl: e.x509SvidTtlSeconds,
    jwtSvidTtl: e.jwtSvidTtlSeconds,
    dnsNames: e.dnsNames,
  }
}
