/**
 * The move of a replica's own SQLite entries (dataDir/agents.db, before entries were shared) into
 * a real PostgreSQL at start: IDs and creation times kept, the same entry from two replicas stored
 * once, a move cut short and run again adds nothing twice, bounds hold, and the SQLite rows end in
 * `entries_moved` so a later start moves nothing.
 */
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgres } from '../../../server/entry/postgres.ts'
import { moveLocalEntries, moveSqliteEntries } from '../../../server/entry/entries-move.ts'
import { openSqliteWasm } from '../../../server/entry/sqlite-wasm.ts'
import { checkEntryInput } from '../../../server/entries/validate.ts'
import { createJsonLogger } from '../../../server/logging.ts'
import { SqliteEntryStore } from '../../../server/registry/entries.ts'
import { PgEntryStore } from '../../../server/registry/entries-pg.ts'
import type { AsyncSqlDatabase } from '../../../server/registry/sql.ts'
import { postgresMissing, startPostgres, type TestPostgres } from '../../support/postgres.ts'

const missing = postgresMissing()
const TD = 'example.org'
const spec = (spiffeId: string, parentId = 'spiffe://example.org/agent/1') =>
  checkEntryInput({ spiffeId, parentId, selectors: ['unix:uid:1'] }, TD)
/** a replica's data dir with an agents.db holding entries made by the SQLite store */
const replicaDir = () => mkdtempSync(join(tmpdir(), 'vouch-move-'))

let pg: TestPostgres | undefined
let count = 0
const dbs: AsyncSqlDatabase[] = []
async function pgStore(options = {}): Promise<PgEntryStore> {
  const db = await openPostgres(await pg!.createDatabase(`vouch_move_${process.pid}_${++count}`), { max: 2 })
  dbs.push(db)
  return PgEntryStore.open(db, options)
}

describe.skipIf(missing)('moving SQLite entries into PostgreSQL', () => {
  beforeAll(async () => {
    pg = await startPostgres()
  }, 60_000)
  afterAll(async () => {
    for (const db of dbs) await db.close()
    pg?.stop()
  })

  it('keeps IDs and times; the same entry from a second replica is stored once; a later start moves nothing', async () => {
    const into = await pgStore()
    const dirA = replicaDir()
    const a = openSqliteWasm(join(dirA, 'agents.db'))
    const sa = new SqliteEntryStore(a)
    const web = sa.create(spec('spiffe://example.org/web'), 1000)
    const db = sa.create(spec('spiffe://example.org/db'), 2000)
    const dirB = replicaDir()
    const b = openSqliteWasm(join(dirB, 'agents.db'))
    const sb = new SqliteEntryStore(b)
    const webOnB = sb.create(spec('spiffe://example.org/web'), 1500)
    const own = sb.create(spec('spiffe://example.org/b-only'), 3000)

    expect(await moveSqliteEntries(a, into)).toEqual({ added: 2, present: 0, exists: 0, limit: 0, deleted: 0, unreadable: 0 })
    expect(await into.list()).toEqual([db, web])
    expect(sa.list()).toEqual([])
    expect(a.all('SELECT id FROM entries_moved ORDER BY id').map((r) => r.id)).toEqual([web.id, db.id].sort())
    expect(await moveSqliteEntries(a, into)).toBeUndefined()

    expect(await moveSqliteEntries(b, into)).toEqual({ added: 1, present: 0, exists: 1, limit: 0, deleted: 0, unreadable: 0 })
    // A's copy of the shared entry (moved first) is the one kept
    expect((await into.list()).map((e) => e.id)).toEqual([own.id, db.id, web.id])
    expect(await into.get(webOnB.id)).toBeUndefined()
    a.close()
    b.close()
  })

  it('selector-parented entries moved are found for their agents in PostgreSQL; their links leave the SQLite file with them', async () => {
    const into = await pgStore()
    const sqlite = openSqliteWasm(join(replicaDir(), 'agents.db'))
    const store = new SqliteEntryStore(sqlite)
    const fleet = ['tpm_devid:issuer:cn:Fleet CA', 'tpm_devid:subject:cn:h1']
    const both = store.create(
      checkEntryInput({ spiffeId: 'spiffe://example.org/both', parentSelectors: fleet, selectors: ['unix:uid:1'] }, TD),
      1,
    )
    const one = store.create(
      checkEntryInput({ spiffeId: 'spiffe://example.org/one', parentSelectors: [fleet[0]!], selectors: ['unix:uid:1'] }, TD),
      2,
    )
    expect(store.listForAgent('spiffe://example.org/agent/9', fleet)).toEqual([both, one])
    expect(sqlite.all('SELECT count(*) AS n FROM entry_parent_selectors')).toEqual([{ n: 3 }])
    expect(await moveSqliteEntries(sqlite, into)).toEqual({ added: 2, present: 0, exists: 0, limit: 0, deleted: 0, unreadable: 0 })
    expect(await into.listForAgent('spiffe://example.org/agent/9', fleet)).toEqual([both, one])
    expect(await into.listForAgent('spiffe://example.org/agent/9', [fleet[0]!])).toEqual([one])
    expect(await into.listForAgent('spiffe://example.org/agent/9', [fleet[1]!])).toEqual([])
    expect(store.listForAgent('spiffe://example.org/agent/9', fleet)).toEqual([])
    expect(sqlite.all('SELECT count(*) AS n FROM entry_parent_selectors')).toEqual([{ n: 0 }])
    sqlite.close()
  })

  it('an entry moved by one replica and then deleted in the shared database is not brought back by another replica moving its copy', async () => {
    const into = await pgStore()
    const a = openSqliteWasm(join(replicaDir(), 'agents.db'))
    const b = openSqliteWasm(join(replicaDir(), 'agents.db'))
    const revoked = new SqliteEntryStore(a).create(spec('spiffe://example.org/revoked'), 1000)
    const copy = new SqliteEntryStore(b).create(spec('spiffe://example.org/revoked'), 1100)
    const kept = new SqliteEntryStore(b).create(spec('spiffe://example.org/kept'), 1200)
    await moveSqliteEntries(a, into)
    // the operator revokes it (vouch entry delete, through any replica's config)
    expect(await into.delete(revoked.id)).toBe(true)
    expect(await into.delete(revoked.id)).toBe(false)
    expect(await moveSqliteEntries(b, into)).toEqual({ added: 1, present: 0, exists: 0, limit: 0, deleted: 1, unreadable: 0 })
    expect((await into.list()).map((e) => e.id)).toEqual([kept.id])
    expect(await into.get(copy.id)).toBeUndefined()
    // an operator may still make the entry again on purpose
    const again = await into.create(spec('spiffe://example.org/revoked'), 5000)
    expect(await into.get(again.id)).toEqual(again)
    a.close()
    b.close()
  })

  it('a move cut short (entries in PostgreSQL, still in SQLite) adds nothing twice; unreadable rows stay; bounds hold', async () => {
    const into = await pgStore({ maxEntriesPerParent: 2 })
    const sqlite = openSqliteWasm(join(replicaDir(), 'agents.db'))
    const store = new SqliteEntryStore(sqlite)
    const first = store.create(spec('spiffe://example.org/1'), 1)
    store.create(spec('spiffe://example.org/2'), 2)
    const third = store.create(spec('spiffe://example.org/3'), 3)
    expect(await into.adopt(first)).toBe('added')
    sqlite.run(
      "INSERT INTO entries VALUES ('" +
        'ef'.repeat(16) +
        "', 'spiffe://example.org/bad', 'spiffe://example.org/agent/1', 'not json', 'x', '[]', NULL, NULL, '[]', 4)",
    )
    expect(await moveSqliteEntries(sqlite, into)).toEqual({ added: 1, present: 1, exists: 0, limit: 1, deleted: 0, unreadable: 1 })
    expect((await into.list()).map((e) => e.spiffeId)).toEqual(['spiffe://example.org/1', 'spiffe://example.org/2'])
    // the entry over the bound is kept in entries_moved; the unreadable row stays where it was
    expect(sqlite.all('SELECT spiffe_id FROM entries_moved ORDER BY spiffe_id').map((r) => r.spiffe_id)).toEqual([
      'spiffe://example.org/1',
      'spiffe://example.org/2',
      third.spiffeId,
    ])
    expect(sqlite.all('SELECT id FROM entries').map((r) => r.id)).toEqual(['ef'.repeat(16)])
    sqlite.close()
  })

  it('at start: logs what moved; a data dir without agents.db is left without one', async () => {
    const into = await pgStore()
    const lines: Record<string, unknown>[] = []
    const logger = createJsonLogger(
      (l) => lines.push(JSON.parse(l) as Record<string, unknown>),
      () => 0,
    )
    const empty = replicaDir()
    await moveLocalEntries(empty, openSqliteWasm, into, logger)
    expect(existsSync(join(empty, 'agents.db'))).toBe(false)
    const dir = replicaDir()
    const sqlite = openSqliteWasm(join(dir, 'agents.db'))
    const e = new SqliteEntryStore(sqlite).create(spec('spiffe://example.org/w'), 9)
    sqlite.close()
    await moveLocalEntries(dir, openSqliteWasm, into, logger)
    expect(await into.get(e.id)).toEqual(e)
    expect(lines).toEqual([
      expect.objectContaining({
        level: 'warn',
        msg: 'Registration entries moved to the shared database',
        from: join(dir, 'agents.db'),
        added: 1,
        detail: 'copies remain in the table entries_moved',
      }),
    ])
    await moveLocalEntries(dir, openSqliteWasm, into, logger)
    expect(lines).toHaveLength(1)
  })
})
