/**
 * What the server and `vouch entry` need of the registration entries, whichever backend holds
 * them: the SQLite store (entries.ts, synchronous, the embedded default) or the PostgreSQL one
 * (entries-pg.ts, shared by every replica and worker). Callers `await` every result, as with
 * AgentStore (store.ts). Both keep one row per entry in the `entries` table of migration 5
 * (migrations.ts) and share the row mapping below, so they hold the same data the same way:
 * selectors and DNS names as sorted JSON arrays, and `parent_key` (the parent ID, or `selectors:`
 * and the parent selectors as JSON) for the per-parent bound and the uniqueness of (SPIFFE ID,
 * parent, selectors). `create` checks both bounds and the uniqueness and inserts atomically, also
 * against another process creating at the same moment.
 */
import { EntryError } from '../entries/errors.ts'
import type { EntrySpec, RegistrationEntry } from '../entries/validate.ts'
import type { SqlValue } from './sql.ts'
import type { Awaitable } from './store.ts'

export interface EntryStore {
  /** Stores a validated entry (checkEntryInput). Throws ERR_ENTRY_LIMIT or ERR_ENTRY_EXISTS. */
  create(spec: EntrySpec, now: number): Awaitable<RegistrationEntry>
  /** undefined for an unknown ID, or one that is not an entry ID at all */
  get(id: string): Awaitable<RegistrationEntry | undefined>
  /** every entry, by SPIFFE ID then ID */
  list(): Awaitable<RegistrationEntry[]>
  /** false when there is no such entry */
  delete(id: string): Awaitable<boolean>
  /** The entries parented to an agent: by its exact SPIFFE ID, or by a subset of its selectors. */
  listForAgent(agentId: string, agentSelectors: readonly string[]): Awaitable<RegistrationEntry[]>
}

export interface EntryStoreOptions {
  /** default MAX_ENTRIES_PER_PARENT */
  readonly maxEntriesPerParent?: number
  /** default MAX_ENTRIES */
  readonly maxEntries?: number
}

/** Entry IDs: 32 lowercase hex digits (128 random bits). */
export const ENTRY_ID = /^[0-9a-f]{32}$/

export function newEntryId(): string {
  return [...globalThis.crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('')
}

export function parentKey(e: EntrySpec): string {
  return e.parentId ?? `selectors:${JSON.stringify(e.parentSelectors)}`
}

export const INSERT_ENTRY = `INSERT INTO entries (id, spiffe_id, parent_id, parent_selectors, parent_key, selectors, x509_svid_ttl, jwt_svid_ttl, dns_names, created_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

/** The parameters of INSERT_ENTRY for an entry. */
export function entryParams(e: RegistrationEntry): SqlValue[] {
  return [
    e.id,
    e.spiffeId,
    e.parentId,
    JSON.stringify(e.parentSelectors),
    parentKey(e),
    JSON.stringify(e.selectors),
    e.x509SvidTtlSeconds,
    e.jwtSvidTtlSeconds,
    JSON.stringify(e.dnsNames),
    e.createdAt,
  ]
}

const orNull = (v: SqlValue | undefined): number | null => (v === null || v === undefined ? null : Number(v))

/** An entries row as an entry (PostgreSQL returns BIGINT columns as strings). */
export function toEntry(row: Record<string, SqlValue>): RegistrationEntry {
  return {
    id: String(row.id),
    spiffeId: String(row.spiffe_id),
    parentId: row.parent_id === null || row.parent_id === undefined ? null : String(row.parent_id),
    parentSelectors: JSON.parse(String(row.parent_selectors)) as string[],
    selectors: JSON.parse(String(row.selectors)) as string[],
    x509SvidTtlSeconds: orNull(row.x509_svid_ttl),
    jwtSvidTtlSeconds: orNull(row.jwt_svid_ttl),
    dnsNames: JSON.parse(String(row.dns_names)) as string[],
    createdAt: Number(row.created_at),
  }
}

/** ERR_ENTRY_LIMIT for the whole registry. */
export function totalLimit(total: number, max: number): EntryError {
  return new EntryError('ERR_ENTRY_LIMIT', `the registry holds ${total} entries, at most ${max}`)
}

/** ERR_ENTRY_LIMIT for one parent. */
export function parentLimit(count: number, max: number): EntryError {
  return new EntryError('ERR_ENTRY_LIMIT', `parent: already has ${count} entries, at most ${max}`)
}

/** ERR_ENTRY_EXISTS naming the entry already there. */
export function entryExists(id: string): EntryError {
  return new EntryError('ERR_ENTRY_EXISTS', `entry ${id} has the same spiffeId, parent and selectors`, { detail: { id } })
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
