/**
 * The registry on bun:sqlite (server/entry/sqlite-bun.ts, run by Bun as a child process): a file of
 * schema version 7 written by the Node driver is migrated by Bun (migration 8: one multi-statement
 * exec holding the tables, the triggers with their BEGIN ... END bodies, and the backfill), the
 * triggers keep the links of entries Bun creates and deletes, and the Node driver then finds the
 * same entries for each agent as the read-everything reference.
 */
import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { openSqliteWasm } from '../../../server/entry/sqlite-wasm.ts'
import { isParentedTo } from '../../../server/entries/validate.ts'
import { SqliteEntryStore } from '../../../server/registry/entries.ts'
import { entryParams, INSERT_ENTRY } from '../../../server/registry/entry-store.ts'
import { MIGRATIONS, MIGRATIONS_TABLE, SCHEMA_VERSION } from '../../../server/registry/migrations.ts'
import { S, v7Entries } from '../registry/v7-entries.ts'

const ROOT = resolve(import.meta.dirname, '../../..')
const BUN = join(ROOT, 'node_modules/.bin/bun')
const dir = mkdtempSync(join(tmpdir(), 'vouch-bun-sqlite-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe.skipIf(!existsSync(BUN))('registry entries on bun:sqlite', () => {
  it('Bun migrates a version-7 file (links backfilled), its triggers follow its writes, Node reads the same entries', () => {
    const path = join(dir, 'agents.db')
    const node = openSqliteWasm(path)
    node.exec(MIGRATIONS_TABLE)
    for (const m of MIGRATIONS.filter((m) => m.version <= 7)) {
      node.exec(m.sql)
      node.run('INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)', [m.version])
    }
    const old = v7Entries()
    // a parent selector twice, as a row no store writes
    old.push({ ...old[0]!, spiffeId: 'spiffe://td/w/twice', parentSelectors: [S(2), S(2)], id: '5'.repeat(32), createdAt: 5 })
    for (const e of old) node.run(INSERT_ENTRY, entryParams(e))
    node.close()

    const r = spawnSync(BUN, [join(ROOT, 'test/server/entry/sqlite-bun-entries.ts'), path, '1'.repeat(32)], {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 30_000,
    })
    expect(r.status, r.stderr).toBe(0)
    const seen = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      version: number
      made: string
      links: { selector: string; entry_id: string; selector_count: number }[]
      agent1: string[]
      agent2: string[]
    }
    expect(seen.version).toBe(SCHEMA_VERSION)
    // the backfill linked the old rows, the insert trigger the new one; the delete trigger took the deleted one's
    expect(seen.links.map((l) => [l.entry_id, l.selector, l.selector_count])).toEqual(
      [
        ['0'.repeat(32), S(1), 1],
        ['2'.repeat(32), S(2), 2],
        ['2'.repeat(32), S(3), 2],
        ['5'.repeat(32), S(2), 1],
        [seen.made, S(3), 1],
      ].sort((a, b) => (a[0]! < b[0]! ? -1 : a[0]! > b[0]! ? 1 : 0)),
    )
    expect(seen.agent1).toEqual(['spiffe://td/w/3', 'spiffe://td/w/0', 'spiffe://td/w/twice'])
    expect(seen.agent2).toEqual(['spiffe://td/w/0', 'spiffe://td/w/2', 'spiffe://td/w/bun', 'spiffe://td/w/twice'])

    // the Node driver on the file Bun left: the same answers, equal to the reference
    const again = openSqliteWasm(path)
    try {
      const store = new SqliteEntryStore(again)
      const all = store.list()
      for (const [agent, selectors] of [
        ['spiffe://td/agent/1', [S(1), S(2)]],
        ['spiffe://td/agent/2', [S(3), S(2), S(1)]],
      ] as const) {
        const set = new Set<string>(selectors)
        const reference = [
          ...all.filter((e) => e.parentId === agent),
          ...all.filter((e) => e.parentId === null && isParentedTo(e, agent, set)),
        ]
        expect(store.listForAgent(agent, selectors)).toEqual(reference)
      }
      expect(store.listForAgent('spiffe://td/agent/2', [S(3), S(2), S(1)]).map((e) => e.spiffeId)).toEqual(seen.agent2)
    } finally {
      again.close()
    }
  }, 60_000)
})
