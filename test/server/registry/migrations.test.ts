import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgres } from '../../../server/entry/postgres.ts'
import { openSqliteWasm } from '../../../server/entry/sqlite-wasm.ts'
import { type Migration, MIGRATIONS, MIGRATIONS_TABLE, pendingMigrations, SCHEMA_VERSION } from '../../../server/registry/migrations.ts'
import { entryParams, INSERT_ENTRY } from '../../../server/registry/entry-store.ts'
import type { SqlValue } from '../../../server/registry/sql.ts'
import { checkEntryInput } from '../../../server/entries/validate.ts'
import { migratePostgres, PgAgentRegistry } from '../../../server/registry/registry-pg.ts'
import { AgentRegistry } from '../../../server/registry/registry.ts'
import { backends } from '../../support/registry-backends.ts'
import { S, v7Entries } from './v7-entries.ts'

/** The schema the registry created before versioned migrations (no schema_migrations table). */
const PREVIOUS_SCHEMA = `
CREATE TABLE IF NOT EXISTS agents (
  spiffe_id TEXT PRIMARY KEY,
  attestor_type TEXT NOT NULL,
  attributes TEXT NOT NULL,
  first_attested_at INTEGER NOT NULL,
  last_attested_at INTEGER NOT NULL,
  attestations INTEGER NOT NULL DEFAULT 1,
  banned INTEGER NOT NULL DEFAULT 0,
  svid_serial TEXT,
  svid_expires_at INTEGER
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
INSERT INTO agents VALUES ('spiffe://td/old', 'tpm_ek', '{"k":"v"}', 1000, 2000, 3, 1, '0a', 9000);
INSERT INTO meta VALUES ('spiffe_sequence', '7');
`

/** Runs SQL on the raw database of a backend location, outside the registry. */
async function rawExec(name: string, where: string, sql: string): Promise<Record<string, unknown>[]> {
  if (name === 'sqlite') {
    const db = openSqliteWasm(where)
    try {
      if (/^\s*SELECT/i.test(sql)) return db.all(sql)
      db.exec(sql)
      return []
    } finally {
      db.close()
    }
  }
  const db = await openPostgres(where)
  try {
    if (/^\s*SELECT/i.test(sql)) return await db.all(sql)
    await db.exec(sql)
    return []
  } finally {
    await db.close()
  }
}

describe('pendingMigrations', () => {
  it('lists what is not applied, in order, and refuses a database newer than this build', () => {
    expect(pendingMigrations([]).map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version))
    expect(pendingMigrations([1]).map((m) => m.version)).toEqual(MIGRATIONS.slice(1).map((m) => m.version))
    expect(pendingMigrations(MIGRATIONS.map((m) => m.version))).toEqual([])
    expect(() => pendingMigrations([SCHEMA_VERSION + 1])).toThrow(/schema version \d+, newer than this build's/)
  })
})

describe.each(backends())('registry migrations on $name', (backend) => {
  beforeAll(async () => {
    if (!backend.missing) await backend.setup()
  })
  afterAll(() => backend.teardown())

  const versions = async (where: string) =>
    (await rawExec(backend.name, where, 'SELECT version FROM schema_migrations ORDER BY version')).map((r) => Number(r.version))

  it.skipIf(backend.missing)('an empty database is migrated to the current version, once', async () => {
    const where = await backend.fresh()
    const r = await backend.open(where)
    await r.recordAttestation({ spiffeId: 'spiffe://td/a', attestorType: 'tpm_devid', attributes: {}, at: 1 })
    await r.close()
    expect(await versions(where)).toEqual(MIGRATIONS.map((m) => m.version))
    // reopening applies nothing again and keeps the data
    const again = await backend.open(where)
    expect(await versions(where)).toEqual(MIGRATIONS.map((m) => m.version))
    expect((await again.list()).map((a) => a.spiffeId)).toEqual(['spiffe://td/a'])
    await again.close()
  })

  it.skipIf(backend.missing)('the previous (unversioned) schema is adopted with its rows, bans and sequence', async () => {
    const where = await backend.fresh()
    await rawExec(backend.name, where, PREVIOUS_SCHEMA)
    const r = await backend.open(where)
    expect(await versions(where)).toEqual(MIGRATIONS.map((m) => m.version))
    expect(await r.get('spiffe://td/old')).toEqual({
      spiffeId: 'spiffe://td/old',
      attestorType: 'tpm_ek',
      attributes: { k: 'v' },
      firstAttestedAt: 1000,
      lastAttestedAt: 2000,
      attestations: 3,
      banned: true,
      svidSerial: '0a',
      svidExpiresAt: 9000,
      selectors: [],
    })
    expect(await r.commitAttestation({ spiffeId: 'spiffe://td/old', attestorType: 'tpm_ek', attributes: {}, at: 3000 })).toBe('banned')
    expect(await r.nextSequence('spiffe_sequence')).toBe(8)
    // the index of migration 2 exists
    const index =
      backend.name === 'sqlite'
        ? await rawExec(backend.name, where, "SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'agents_banned'")
        : await rawExec(backend.name, where, "SELECT indexname AS name FROM pg_indexes WHERE indexname = 'agents_banned'")
    expect(index).toHaveLength(1)
    await r.close()
  })

  it.skipIf(backend.missing)('the unversioned schema with the selectors column already added is adopted too', async () => {
    const where = await backend.fresh()
    await rawExec(backend.name, where, PREVIOUS_SCHEMA)
    await rawExec(backend.name, where, "ALTER TABLE agents ADD COLUMN selectors TEXT NOT NULL DEFAULT '[]'")
    await rawExec(backend.name, where, `UPDATE agents SET selectors = '["tpm_ek:x"]'`)
    const r = await backend.open(where)
    expect(await versions(where)).toEqual(MIGRATIONS.map((m) => m.version))
    expect((await r.get('spiffe://td/old'))?.selectors).toEqual(['tpm_ek:x'])
    await r.recordAttestation({ spiffeId: 'spiffe://td/new', attestorType: 'tpm_ek', attributes: {}, at: 1, selectors: ['tpm_ek:y'] })
    expect((await r.get('spiffe://td/new'))?.selectors).toEqual(['tpm_ek:y'])
    await r.close()
  })

  it.skipIf(backend.missing)(
    'a database of schema version 4 (before registration entries) gains the entries table, keeping its rows',
    async () => {
      const where = await backend.fresh()
      const v4 = MIGRATIONS.filter((m) => m.version <= 4)
      await rawExec(backend.name, where, `${MIGRATIONS_TABLE};\n${v4.map((m) => m.sql).join('\n')}`)
      await rawExec(backend.name, where, `INSERT INTO schema_migrations VALUES ${v4.map((m) => `(${m.version}, 0)`).join(', ')}`)
      await rawExec(
        backend.name,
        where,
        `INSERT INTO agents (spiffe_id, attestor_type, attributes, first_attested_at, last_attested_at, attestations, banned, svid_serial, svid_expires_at)
          VALUES ('spiffe://td/old', 'tpm_ek', '{"k":"v"}', 1000, 2000, 3, 1, '0a', 9000);
        INSERT INTO meta VALUES ('spiffe_sequence', '7');`,
      )
      expect(await rawExec(backend.name, where, 'SELECT version FROM schema_migrations WHERE version = 5')).toEqual([])
      // the registry opens it (the server's start): version 5 applied, the agent and sequence kept
      const r = await backend.open(where)
      expect(await versions(where)).toEqual(MIGRATIONS.map((m) => m.version))
      expect((await r.get('spiffe://td/old'))?.banned).toBe(true)
      expect(await r.nextSequence('spiffe_sequence')).toBe(8)
      await r.close()
      const { entries, close } = await backend.openEntries(where)
      const made = await entries.create(
        checkEntryInput({ spiffeId: 'spiffe://td/w', parentId: 'spiffe://td/old', selectors: ['unix:uid:1'] }, 'td'),
        5,
      )
      expect(await entries.listForAgent('spiffe://td/old', [])).toEqual([made])
      await close()
      const indexes =
        backend.name === 'sqlite'
          ? await rawExec(
              backend.name,
              where,
              "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'entries_%' AND tbl_name = 'entries' ORDER BY name",
            )
          : await rawExec(
              backend.name,
              where,
              "SELECT indexname AS name FROM pg_indexes WHERE indexname LIKE 'entries_%' AND tablename = 'entries' AND indexname <> 'entries_pkey' ORDER BY indexname",
            )
      expect(indexes.map((i) => i.name)).toEqual(['entries_identity', 'entries_parent_key'])
    },
  )

  it.skipIf(backend.missing)(
    'a database of schema version 7 with selector-parented entries gains their links: the agent finds them after the upgrade',
    async () => {
      const where = await backend.fresh()
      const v7 = MIGRATIONS.filter((m) => m.version <= 7)
      const sqlOf = (m: Migration) => (backend.name === 'postgres' ? (m.postgres ?? m.sql) : m.sql)
      await rawExec(backend.name, where, `${MIGRATIONS_TABLE};\n${v7.map(sqlOf).join('\n')}`)
      await rawExec(backend.name, where, `INSERT INTO schema_migrations VALUES ${v7.map((m) => `(${m.version}, 0)`).join(', ')}`)
      const made = v7Entries()
      const literal = (v: SqlValue) => (v === null ? 'NULL' : typeof v === 'number' ? String(v) : `'${v}'`)
      const rows = made.map((e) => `(${entryParams(e).map(literal).join(', ')})`)
      // rows no entry can be read from: not linked, no failure. SQLite: not JSON; PostgreSQL: a lone
      // surrogate as an older build's JSON.stringify wrote it, which jsonb refuses
      if (backend.name === 'sqlite') rows.push(`('${'e'.repeat(32)}', 'spiffe://td/bad', NULL, 'not json', 'x', '[]', NULL, NULL, '[]', 9)`)
      else rows.push(`('${'f'.repeat(32)}', 'spiffe://td/lone', NULL, '${JSON.stringify(['x:\ud800'])}', 'y', '[]', NULL, NULL, '[]', 9)`)
      await rawExec(backend.name, where, `${INSERT_ENTRY.slice(0, INSERT_ENTRY.indexOf('VALUES'))} VALUES ${rows.join(', ')}`)
      expect(await rawExec(backend.name, where, 'SELECT 1 AS t FROM schema_migrations WHERE version = 8')).toEqual([])
      // the server's start migrates
      await (await backend.open(where)).close()
      expect(await versions(where)).toEqual(MIGRATIONS.map((m) => m.version))
      const links = await rawExec(
        backend.name,
        where,
        'SELECT entry_id, selector, selector_count FROM entry_parent_selectors ORDER BY entry_id, selector',
      )
      expect(links.map((l) => [l.entry_id, l.selector, Number(l.selector_count)])).toEqual([
        ['0'.repeat(32), S(1), 1],
        ['1'.repeat(32), S(1), 2],
        ['1'.repeat(32), S(2), 2],
        ['2'.repeat(32), S(2), 2],
        ['2'.repeat(32), S(3), 2],
      ])
      const { entries, close } = await backend.openEntries(where)
      expect(await entries.listForAgent('spiffe://td/agent/1', [S(1), S(2)])).toEqual([made[3], made[0], made[1]])
      expect(await entries.listForAgent('spiffe://td/agent/2', [S(3), S(2)])).toEqual([made[2]])
      expect(await entries.listForAgent('spiffe://td/agent/2', [S(3)])).toEqual([])
      // and an entry made after the upgrade is linked by the trigger
      const later = await entries.create(
        checkEntryInput({ spiffeId: 'spiffe://td/w/later', parentSelectors: [S(3)], selectors: ['unix:uid:1'] }, 'td'),
        10,
      )
      expect(await entries.listForAgent('spiffe://td/agent/2', [S(3)])).toEqual([later])
      await close()
    },
  )

  it.skipIf(backend.missing)('a database from a newer build is refused at open and left untouched', async () => {
    const where = await backend.fresh()
    await rawExec(backend.name, where, 'CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)')
    await rawExec(backend.name, where, `INSERT INTO schema_migrations VALUES (${SCHEMA_VERSION + 1}, 0)`)
    await expect(backend.open(where)).rejects.toThrow(/newer than this build's/)
    expect(await versions(where)).toEqual([SCHEMA_VERSION + 1])
  })
})

const [, pgBackend] = backends()
describe('PostgreSQL migrations under pg_advisory_lock', () => {
  beforeAll(async () => {
    if (!pgBackend!.missing) await pgBackend!.setup()
  })
  afterAll(() => pgBackend!.teardown())

  it.skipIf(pgBackend!.missing)('replicas starting together migrate once: one applies every version, the others none', async () => {
    const url = await pgBackend!.fresh()
    const dbs = await Promise.all([1, 2, 3, 4].map(() => openPostgres(url)))
    const applied = await Promise.all(dbs.map((db) => migratePostgres(db)))
    expect(applied.flat().sort()).toEqual(MIGRATIONS.map((m) => m.version))
    expect(applied.filter((a) => a.length > 0)).toHaveLength(1)
    await Promise.all(dbs.map((db) => db.close()))
    const r = await PgAgentRegistry.open(await openPostgres(url))
    expect(await r.list()).toEqual([])
    await r.close()
  })
})

describe('SQLite entries made before they were a migration', () => {
  it('an agents.db of schema version 4 with the entries table the entry store created is adopted with its entries', async () => {
    const where = await backends()[0]!.fresh()
    const db = openSqliteWasm(where)
    new AgentRegistry(db)
    // back to the previous build: version 4, and the table as its entry store created it
    db.exec('DELETE FROM schema_migrations WHERE version = 5; DROP TABLE entries')
    db.exec(`CREATE TABLE entries (id TEXT PRIMARY KEY, spiffe_id TEXT NOT NULL, parent_id TEXT, parent_selectors TEXT NOT NULL,
      parent_key TEXT NOT NULL, selectors TEXT NOT NULL, x509_svid_ttl INTEGER, jwt_svid_ttl INTEGER, dns_names TEXT NOT NULL,
      created_at INTEGER NOT NULL);
      CREATE INDEX entries_parent_key ON entries (parent_key);
      CREATE UNIQUE INDEX entries_identity ON entries (spiffe_id, parent_key, selectors);`)
    db.run(
      `INSERT INTO entries VALUES ('${'ab'.repeat(16)}', 'spiffe://td/w', 'spiffe://td/a', '[]', 'spiffe://td/a', '["unix:uid:1"]', 600, NULL, '[]', 7)`,
    )
    db.close()
    const { entries, close } = await backends()[0]!.openEntries(where)
    expect(await entries.list()).toEqual([
      {
        id: 'ab'.repeat(16),
        spiffeId: 'spiffe://td/w',
        parentId: 'spiffe://td/a',
        parentSelectors: [],
        selectors: ['unix:uid:1'],
        x509SvidTtlSeconds: 600,
        jwtSvidTtlSeconds: null,
        dnsNames: [],
        createdAt: 7,
      },
    ])
    const spec = checkEntryInput({ spiffeId: 'spiffe://td/w', parentId: 'spiffe://td/a', selectors: ['unix:uid:1'] }, 'td')
    await expect(async () => entries.create(spec, 8)).rejects.toThrow(
      `entry ${'ab'.repeat(16)} has the same spiffeId, parent and selectors`,
    )
    await close()
    const versions = await rawExec('sqlite', where, 'SELECT version FROM schema_migrations ORDER BY version')
    expect(versions.map((r) => Number(r.version))).toEqual(MIGRATIONS.map((m) => m.version))
  })
})

describe('SQLite migrations inside one transaction', () => {
  it('a failing migration leaves the previous schema (no schema_migrations rows, no tables)', async () => {
    const where = await backends()[0]!.fresh()
    const db = openSqliteWasm(where)
    // a table named like migration 2's index makes it fail after migration 1 ran in the same transaction
    db.exec('CREATE TABLE agents_banned (x INTEGER)')
    expect(() => new AgentRegistry(db)).toThrow()
    expect(db.all("SELECT name FROM sqlite_master WHERE name IN ('agents', 'schema_migrations')")).toEqual([])
    db.close()
  })
})
