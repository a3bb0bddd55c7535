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

/**
 * Migration 8: the parent selectors of each selector-parented entry, one row each, so the entries
 * parented to an agent are found through an index (entries.ts, entries-pg.ts listForAgent): the
 * rows of the agent's selectors, grouped by entry, where the count reaches the entry's number of
 * distinct parent selectors. Triggers on `entries` keep the table exact whatever writes the entry
 * (creation, adoption of moved entries, deletion, the move out of a replica's SQLite file, an older
 * build's CLI), in the writer's own transaction. A parent selector is at most MAX_SELECTOR_LENGTH
 * (256) UTF-16 code units, at most 768 bytes of UTF-8: the key (selector, entry_id) stays far
 * below PostgreSQL's 2704-byte B-tree row limit, so the selector is indexed as it is.
 */
const PARENT_SELECTORS_TABLE = `CREATE TABLE IF NOT EXISTS entry_parent_selectors (
  selector TEXT NOT NULL,
  entry_id TEXT NOT NULL,
  selector_count INTEGER NOT NULL,
  PRIMARY KEY (selector, entry_id)
);
CREATE INDEX IF NOT EXISTS entry_parent_selectors_entry_id ON entry_parent_selectors (entry_id);`

/** SQLite: a row's parent_selectors as a JSON array, `[]` when it is not one (never an error in a trigger). */
const sqliteArray = (x: string) => `CASE WHEN json_valid(${x}) THEN CASE json_type(${x}) WHEN 'array' THEN ${x} ELSE '[]' END ELSE '[]' END`

/**
 * The links of the rows of entries named `e` (NEW in a trigger; `from` adds the table for the
 * backfill): one per distinct parent selector of an entry without a parent ID, with their number.
 */
const sqliteLinks = (e: string, from = '') => `INSERT OR IGNORE INTO entry_parent_selectors (selector, entry_id, selector_count)
  SELECT j.value, ${e}.id, (SELECT count(DISTINCT value) FROM json_each(${sqliteArray(`${e}.parent_selectors`)}))
  FROM ${from}json_each(${sqliteArray(`${e}.parent_selectors`)}) j WHERE ${e}.parent_id IS NULL`

/**
 * PostgreSQL: the same, through entries_parent_selectors(): `[]` for text jsonb cannot take (an
 * older build's JSON.stringify wrote a lone surrogate as `\ud800`, which jsonb refuses), so no row
 * an older build wrote can fail the upgrade or a later write; such an entry is not linked.
 */
const PG_PARENT_SELECTORS = `CREATE OR REPLACE FUNCTION entries_parent_selectors(t text) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  j jsonb;
BEGIN
  j := CAST(t AS jsonb);
  IF jsonb_typeof(j) = 'array' THEN
    RETURN j;
  END IF;
  RETURN CAST('[]' AS jsonb);
EXCEPTION WHEN others THEN
  RETURN CAST('[]' AS jsonb);
END
$$;`
const pgArray = (x: string) => `entries_parent_selectors(${x})`
const pgLinks = (e: string, from = '') => `INSERT INTO entry_parent_selectors (selector, entry_id, selector_count)
  SELECT DISTINCT j.s, ${e}.id, (SELECT count(DISTINCT t.v) FROM jsonb_array_elements_text(${pgArray(`${e}.parent_selectors`)}) AS t(v))
  FROM ${from}jsonb_array_elements_text(${pgArray(`${e}.parent_selectors`)}) AS j(s) WHERE ${e}.parent_id IS NULL
  ON CONFLICT DO NOTHING`

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
  {
    version: 8,
    description: 'the parent selectors of selector-parented entries, indexed, for the entries of one agent (server/registry/entries.ts)',
    // the table, the triggers that keep it, then the links of the entries already there. On
    // PostgreSQL, CREATE TRIGGER waits for inserts in flight and holds off new ones until the
    // migration commits, so the backfill sees every row the trigger does not.
    sql: `${PARENT_SELECTORS_TABLE}
CREATE TRIGGER IF NOT EXISTS entries_link_insert AFTER INSERT ON entries
BEGIN
  ${sqliteLinks('NEW')};
END;
CREATE TRIGGER IF NOT EXISTS entries_link_delete AFTER DELETE ON entries
BEGIN
  DELETE FROM entry_parent_selectors WHERE entry_id = OLD.id;
END;
CREATE TRIGGER IF NOT EXISTS entries_link_update AFTER UPDATE OF id, parent_id, parent_selectors ON entries
BEGIN
  DELETE FROM entry_parent_selectors WHERE entry_id = OLD.id;
  ${sqliteLinks('NEW')};
END;
${sqliteLinks('e', 'entries e, ')};`,
    postgres: `${PARENT_SELECTORS_TABLE}
${PG_PARENT_SELECTORS}
CREATE OR REPLACE FUNCTION entries_link() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    DELETE FROM entry_parent_selectors WHERE entry_id = OLD.id;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    ${pgLinks('NEW')};
  END IF;
  RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS entries_link ON entries;
CREATE TRIGGER entries_link AFTER INSERT OR DELETE OR UPDATE OF id, parent_id, parent_selectors ON entries
  FOR EACH ROW EXECUTE FUNCTION entries_link();
${pgLinks('e', 'entries e, ')};`,
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
