/**
 * Versioned schema migrations of the agent registry, shared by both backends (SQLite embedded,
 * PostgreSQL shared). Each migration is portable SQL (BIGINT is an INTEGER affinity in SQLite and
 * holds ms timestamps in PostgreSQL) and is recorded in `schema_migrations(version)` once applied.
 * Migration 1 is the schema the registry created before migrations existed (CREATE ... IF NOT
 * EXISTS), so a database from that release is adopted in place. Callers apply the pending ones at
 * start under a lock: SQLite inside one BEGIN IMMEDIATE transaction, PostgreSQL under
 * pg_advisory_lock(MIGRATION_LOCK_ID), so replicas starting together migrate once.
 */
export interface Migration {
  readonly version: number
  readonly description: string
  readonly sql: string
  /**
   * A column this migration adds, for databases where an earlier unversioned build already added
   * it (the selectors column): the migration is then recorded without running its SQL.
   */
  readonly addsColumn?: { readonly table: string; readonly column: string }
  /** the SQL on PostgreSQL when it differs from `sql` (which SQLite runs) */
  readonly postgres?: string
}

/** The entries table of migration 5 (registration entries, entry-store.ts); its indexes differ by backend. */
const ENTRIES_TABLE = `CREATE TABLE IF NOT EXISTS entries (
  id TEXT PRIMARY KEY,
  spiffe_id TEXT NOT NULL,
  parent_id TEXT,
  parent_selectors TEXT NOT NULL,
  parent_key TEXT NOT NULL,
  selectors TEXT NOT NULL,
  x509_svid_ttl INTEGER,
  jwt_svid_ttl INTEGER,
  dns_names TEXT NOT NULL,
  created_at BIGINT NOT NULL
);`

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'agents and meta',
    sql: `CREATE TABLE IF NOT EXISTS agents (
  spiffe_id TEXT PRIMARY KEY,
  attestor_type TEXT NOT NULL,
  attributes TEXT NOT NULL,
  first_attested_at BIGINT NOT NULL,
  last_attested_at BIGINT NOT NULL,
  attestations BIGINT NOT NULL DEFAULT 1,
  banned INTEGER NOT NULL DEFAULT 0,
  svid_serial TEXT,
  svid_expires_at BIGINT
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);`,
  },
  {
    version: 2,
    description: 'index of banned agents',
    sql: 'CREATE INDEX IF NOT EXISTS agents_banned ON agents (banned);',
  },
  {
    version: 3,
    description: 'agent selectors (registration entries)',
    sql: "ALTER TABLE agents ADD COLUMN selectors TEXT NOT NULL DEFAULT '[]';",
    addsColumn: { table: 'agents', column: 'selectors' },
  },
  {
    version: 4,
    description: 'use-once records of answered sealed sessions (server/registry/use-once.ts)',
    sql: `CREATE TABLE IF NOT EXISTS used_sessions (id TEXT PRIMARY KEY, expires_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS used_sessions_expires_at ON used_sessions (expires_at);`,
  },
  {
    version: 5,
    description: 'registration entries (server/registry/entry-store.ts)',
    // SQLite: the table as the entry store created it before it was a migration, adopted in place
    sql: `${ENTRIES_TABLE}
CREATE INDEX IF NOT EXISTS entries_parent_key ON entries (parent_key);
CREATE UNIQUE INDEX IF NOT EXISTS entries_identity ON entries (spiffe_id, parent_key, selectors);`,
    // PostgreSQL: a B-tree row holds at most 2704 bytes, and parent_key and selectors reach about
    // 8 KiB (32 selectors of 256 characters), so those two are indexed by their MD5 (a SPIFFE ID is
    // ASCII, at most 2048 characters)
    postgres: `${ENTRIES_TABLE}
CREATE INDEX IF NOT EXISTS entries_parent_key ON entries (md5(parent_key));
CREATE UNIQUE INDEX IF NOT EXISTS entries_identity ON entries (spiffe_id, md5(parent_key), md5(selectors));`,
  },
  {
    version: 6,
    description: "replicas' published JWT-SVID public keys (server/registry/jwt-authorities.ts)",
    sql: `CREATE TABLE IF NOT EXISTS jwt_authorities (kid TEXT PRIMARY KEY, jwk TEXT NOT NULL, published_at BIGINT NOT NULL, expires_at BIGINT NOT NULL);
CREATE INDEX IF NOT EXISTS jwt_authorities_expires_at ON jwt_authorities (expires_at);`,
  },
  {
    version: 7,
    description: 'deleted registration entries, so a replica moving an older copy does not bring one back (server/registry/entries-pg.ts)',
    sql: 'CREATE TABLE IF NOT EXISTS entries_deleted (identity TEXT PRIMARY KEY, deleted_at BIGINT NOT NULL);',
  },
]

/** The schema version this build expects (the highest migration). */
export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version

/** The key of the PostgreSQL advisory lock held while migrating ("vouch" in ASCII). */
export const MIGRATION_LOCK_ID = 0x766f756368

export const MIGRATIONS_TABLE = 'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)'

/** The migrations still to apply, in order, given the versions already recorded. */
export function pendingMigrations(applied: readonly number[]): Migration[] {
  const done = new Set(applied)
  const newer = applied.filter((v) => v > SCHEMA_VERSION)
  if (newer.length > 0)
    throw new Error(
      `the registry database has schema version ${Math.max(...newer)}, newer than this build's ${SCHEMA_VERSION}: upgrade vouch`,
    )
  return MIGRATIONS.filter((m) => !done.has(m.version))
}
