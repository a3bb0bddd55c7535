/**
 * listForAgent on both backends (entries.ts, entries-pg.ts): the entries parented to an agent are
 * found through indexes (the parent key, and the parent-selector links of migration 8) and are
 * exactly those the former read-everything-and-filter lookup returned, in the same order. The
 * links follow every write to `entries` (create, delete, a raw insert or update as an older build
 * would make), and the lookup reads only the rows of the agent's selectors: PostgreSQL's own row
 * counters for the request, and both backends' query plans, show no scan of either table.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgres } from '../../../server/entry/postgres.ts'
import { openSqliteWasm } from '../../../server/entry/sqlite-wasm.ts'
import {
  checkEntryInput,
  type EntrySpec,
  isParentedTo,
  MAX_SELECTOR_LENGTH,
  type RegistrationEntry,
} from '../../../server/entries/validate.ts'
import { SqliteEntryStore } from '../../../server/registry/entries.ts'
import { PgEntryStore } from '../../../server/registry/entries-pg.ts'
import { entryParams, INSERT_ENTRY, newEntryId, type EntryStore } from '../../../server/registry/entry-store.ts'
import type { AsyncSqlDatabase, AsyncSqlQueries, SqlDatabase, SqlValue } from '../../../server/registry/sql.ts'
import { backends } from '../../support/registry-backends.ts'

const TD = 'example.org'
const agentId = (n: number) => `spiffe://example.org/agent/${n}`
const S = (n: number) => `tpm_devid:subject:cn:h${n}`

/** The lookup before migration 8: every entry read, those of the agent's ID first, then the selector-parented ones, each in byte order. */
function reference(all: readonly RegistrationEntry[], agent: string, selectors: readonly string[]): RegistrationEntry[] {
  const set = new Set(selectors)
  return [...all.filter((e) => e.parentId === agent), ...all.filter((e) => e.parentId === null && isParentedTo(e, agent, set))]
}

/** A raw connection to a backend's database, outside the entry store. */
interface Raw {
  all(sql: string, params?: readonly SqlValue[]): Promise<Record<string, SqlValue>[]>
  exec(sql: string): Promise<void>
  close(): Promise<void>
}

describe.each(backends())('listForAgent on $name', (backend) => {
  const closers: (() => Promise<void>)[] = []
  beforeAll(async () => {
    if (!backend.missing) await backend.setup()
  })
  afterAll(async () => {
    for (const c of closers) await c().catch(() => undefined)
    backend.teardown()
  })

  const raw = async (where: string): Promise<Raw> => {
    if (backend.name === 'sqlite') {
      const db = openSqliteWasm(where)
      const r: Raw = {
        all: async (sql, params) => db.all(sql, params),
        exec: async (sql) => db.exec(sql),
        close: async () => db.close(),
      }
      closers.push(r.close)
      return r
    }
    const db = await openPostgres(where, { max: 1 })
    closers.push(() => db.close())
    return { all: (sql, params) => db.all(sql, params), exec: (sql) => db.exec(sql), close: () => db.close() }
  }
  /** a migrated database and its entry store */
  const fresh = async (): Promise<{ where: string; store: EntryStore }> => {
    const where = await backend.migrated()
    const h = await backend.openEntries(where)
    closers.push(h.close)
    return { where, store: h.entries }
  }
  const links = async (r: Raw) =>
    (await r.all('SELECT selector, entry_id, selector_count FROM entry_parent_selectors ORDER BY entry_id, selector')).map((l) => ({
      selector: String(l.selector),
      entryId: String(l.entry_id),
      count: Number(l.selector_count),
    }))
  const ids = (list: readonly RegistrationEntry[]) => list.map((e) => e.spiffeId)

  it.skipIf(backend.missing)(
    'returns exactly the entries of the agent: by ID, and by parent selectors all among its own, in byte order',
    async () => {
      const { store } = await fresh()
      const make = async (name: string, parent: { parentId?: string; parentSelectors?: string[] }) =>
        store.create(checkEntryInput({ spiffeId: `spiffe://example.org/${name}`, ...parent, selectors: ['unix:uid:1'] }, TD), 0)
      await make('by-id', { parentId: agentId(1) })
      await make('other-id', { parentId: agentId(2) })
      await make('one', { parentSelectors: [S(1)] })
      await make('two', { parentSelectors: [S(1), S(2)] })
      await make('three', { parentSelectors: [S(3), S(1), S(2)] })
      await make('partial', { parentSelectors: [S(1), S(9)] })
      await make('none', { parentSelectors: [S(8)] })
      await make('B-upper', { parentSelectors: [S(2)] })
      // no selectors: only its own ID
      expect(ids(await store.listForAgent(agentId(1), []))).toEqual(['spiffe://example.org/by-id'])
      // one of two parent selectors is not enough (partial overlap)
      expect(ids(await store.listForAgent(agentId(3), [S(1)]))).toEqual(['spiffe://example.org/one'])
      // a subset of the agent's selectors; byte order puts B before o, p, t
      expect(ids(await store.listForAgent(agentId(1), [S(2), S(1)]))).toEqual([
        'spiffe://example.org/by-id',
        'spiffe://example.org/B-upper',
        'spiffe://example.org/one',
        'spiffe://example.org/two',
      ])
      // an agent with extra selectors, given twice, gets every entry whose selectors it has all of
      expect(ids(await store.listForAgent(agentId(4), [S(7), S(3), S(2), S(1), S(1), 'tpm:pub_hash:x']))).toEqual([
        'spiffe://example.org/B-upper',
        'spiffe://example.org/one',
        'spiffe://example.org/three',
        'spiffe://example.org/two',
      ])
      expect(ids(await store.listForAgent(agentId(5), [S(9)]))).toEqual([])
      expect(ids(await store.listForAgent(agentId(5), [S(9), S(1), S(8)]))).toEqual([
        'spiffe://example.org/none',
        'spiffe://example.org/one',
        'spiffe://example.org/partial',
      ])
      // an agent's ID never matches a selector-parented entry, nor a selector an ID-parented one
      expect(await store.listForAgent(S(1), [agentId(1)])).toEqual([])
      for (const [agent, selectors] of [
        [agentId(1), [S(2), S(1)]],
        [agentId(2), [S(1), S(2), S(3), S(8), S(9)]],
      ] as const)
        expect(await store.listForAgent(agent, selectors)).toEqual(reference(await store.list(), agent, selectors))
    },
  )

  it.skipIf(backend.missing)(
    'property: the indexed lookup equals the read-everything reference over random entries and agents',
    async () => {
      const { where, store } = await fresh()
      const r = await raw(where)
      const parent = fc.oneof(
        fc.integer({ min: 1, max: 3 }).map((n) => ({ parentId: agentId(n) })),
        fc.uniqueArray(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 4 }).map((ns) => ({ parentSelectors: ns.map(S) })),
      )
      const agent = fc.record({
        id: fc.integer({ min: 1, max: 4 }).map(agentId),
        selectors: fc.array(fc.integer({ min: 1, max: 7 }).map(S), { maxLength: 7 }),
      })
      let listed = 0
      await fc.assert(
        fc.asyncProperty(fc.array(parent, { maxLength: 10 }), fc.array(agent, { minLength: 1, maxLength: 4 }), async (parents, agents) => {
          const made: RegistrationEntry[] = []
          for (const [i, p] of parents.entries())
            made.push(
              await store.create(
                checkEntryInput({ spiffeId: `spiffe://example.org/w/${i % 3}/${i}`, ...p, selectors: ['unix:uid:1'] }, TD),
                i,
              ),
            )
          try {
            const all = await store.list()
            for (const a of agents) {
              const got = await store.listForAgent(a.id, a.selectors)
              expect(got).toEqual(reference(all, a.id, a.selectors))
              listed += got.length
            }
            // one link per parent selector of each selector-parented entry, with the entry's selector count
            const expected = made
              .filter((e) => e.parentId === null)
              .flatMap((e) => e.parentSelectors.map((s) => ({ selector: s, entryId: e.id, count: e.parentSelectors.length })))
            const order = (x: { entryId: string; selector: string }, y: { entryId: string; selector: string }) =>
              x.entryId < y.entryId ? -1 : x.entryId > y.entryId ? 1 : x.selector < y.selector ? -1 : x.selector > y.selector ? 1 : 0
            expect(await links(r)).toEqual(expected.sort(order))
          } finally {
            for (const e of made) expect(await store.delete(e.id)).toBe(true)
          }
          // deletion takes the links with it
          expect(await links(r)).toEqual([])
        }),
        { numRuns: 200 },
      )
      // the runs did list entries (not only empty answers)
      expect(listed).toBeGreaterThan(100)
    },
    120_000,
  )

  it.skipIf(backend.missing)('a deleted entry is never listed; made again, it is listed once', async () => {
    const { where, store } = await fresh()
    const r = await raw(where)
    const spec = checkEntryInput({ spiffeId: 'spiffe://example.org/w', parentSelectors: [S(1), S(2)], selectors: ['unix:uid:1'] }, TD)
    const first = await store.create(spec, 1)
    expect(await store.listForAgent(agentId(1), [S(1), S(2)])).toEqual([first])
    expect(await store.delete(first.id)).toBe(true)
    expect(await store.listForAgent(agentId(1), [S(1), S(2)])).toEqual([])
    expect(await links(r)).toEqual([])
    const again = await store.create(spec, 2)
    expect(again.id).not.toBe(first.id)
    expect(await store.listForAgent(agentId(1), [S(2), S(1), S(3)])).toEqual([again])
    expect((await links(r)).map((l) => l.entryId)).toEqual([again.id, again.id])
  })

  it.skipIf(backend.missing)(
    'the links follow rows written without the store (an older build): raw insert, update and delete',
    async () => {
      const { where, store } = await fresh()
      const r = await raw(where)
      const spec: EntrySpec = checkEntryInput(
        { spiffeId: 'spiffe://example.org/w', parentSelectors: [S(1)], selectors: ['unix:uid:1'] },
        TD,
      )
      const entry: RegistrationEntry = { ...spec, id: newEntryId(), createdAt: 3 }
      await r.all(`${INSERT_ENTRY} RETURNING id`, entryParams(entry))
      expect(await store.listForAgent(agentId(1), [S(1)])).toEqual([entry])
      await r.all(`UPDATE entries SET parent_selectors = ? WHERE id = ? RETURNING id`, [JSON.stringify([S(1), S(2)]), entry.id])
      expect(await store.listForAgent(agentId(1), [S(1)])).toEqual([])
      expect(await store.listForAgent(agentId(1), [S(1), S(2)])).toEqual([{ ...entry, parentSelectors: [S(1), S(2)] }])
      await r.all('UPDATE entries SET parent_id = ? WHERE id = ? RETURNING id', [agentId(1), entry.id])
      expect(await links(r)).toEqual([])
      await r.all('UPDATE entries SET parent_id = NULL WHERE id = ? RETURNING id', [entry.id])
      expect((await links(r)).map((l) => [l.selector, l.count])).toEqual([
        [S(1), 2],
        [S(2), 2],
      ])
      await r.all('DELETE FROM entries WHERE id = ? RETURNING id', [entry.id])
      expect(await links(r)).toEqual([])
      expect(await store.listForAgent(agentId(1), [S(1), S(2)])).toEqual([])
    },
  )

  it.skipIf(backend.missing)(
    'rows no store writes (an older build, a move): a parent selector twice, a parent ID with parent selectors, no parent at all',
    async () => {
      const { where, store } = await fresh()
      const r = await raw(where)
      const spec = checkEntryInput({ spiffeId: 'spiffe://example.org/w', parentSelectors: [S(1)], selectors: ['unix:uid:1'] }, TD)
      const rows: RegistrationEntry[] = [
        { ...spec, spiffeId: 'spiffe://example.org/twice', parentSelectors: [S(1), S(1)] },
        { ...spec, spiffeId: 'spiffe://example.org/twice-of-two', parentSelectors: [S(2), S(1), S(2)] },
        { ...spec, spiffeId: 'spiffe://example.org/id-and-selectors', parentId: agentId(1), parentSelectors: [S(1)] },
        { ...spec, spiffeId: 'spiffe://example.org/no-parent', parentSelectors: [] },
      ].map((e, i) => ({ ...e, id: newEntryId(), createdAt: i }))
      for (const e of rows) await r.all(`${INSERT_ENTRY} RETURNING id`, entryParams(e))
      // one link per distinct selector, counting distinct ones; none for the ID-parented or parentless rows
      expect((await links(r)).map((l) => [l.selector, l.count]).sort()).toEqual([
        [S(1), 1],
        [S(1), 2],
        [S(2), 2],
      ])
      const all = await store.list()
      for (const [agent, selectors] of [
        [agentId(1), [S(1)]],
        [agentId(2), [S(1)]],
        [agentId(2), [S(2), S(1)]],
        [agentId(1), []],
      ] as const)
        expect(await store.listForAgent(agent, selectors)).toEqual(reference(all, agent, selectors))
      expect(ids(await store.listForAgent(agentId(2), [S(1), S(2)]))).toEqual([
        'spiffe://example.org/twice',
        'spiffe://example.org/twice-of-two',
      ])
      expect(ids(await store.listForAgent(agentId(1), []))).toEqual(['spiffe://example.org/id-and-selectors'])
    },
  )

  it.skipIf(backend.missing)(
    'agent selectors no entry can hold (a NUL, a lone surrogate: a certificate name may carry them) are no error; the others still match',
    async () => {
      const { store } = await fresh()
      const astral = 'tpm_devid:subject:cn:h\u{1f600}'
      const one = await store.create(
        checkEntryInput({ spiffeId: 'spiffe://example.org/w', parentSelectors: [S(1)], selectors: ['unix:uid:1'] }, TD),
        0,
      )
      const wide = await store.create(
        checkEntryInput({ spiffeId: 'spiffe://example.org/x', parentSelectors: [astral], selectors: ['unix:uid:1'] }, TD),
        0,
      )
      const odd = ['tpm_devid:subject:cn:a\u0000b', 'tpm_devid:issuer:cn:\ud800x', 'tpm_devid:subject:cn:\udc00']
      expect(await store.listForAgent(agentId(1), [...odd, S(1)])).toEqual([one])
      expect(await store.listForAgent(agentId(1), odd)).toEqual([])
      // a surrogate pair is a character like any other
      expect(await store.listForAgent(agentId(1), [astral, ...odd])).toEqual([wide])
      const all = await store.list()
      for (const selectors of [[...odd, S(1)], odd, [astral, ...odd]])
        expect(await store.listForAgent(agentId(1), selectors)).toEqual(reference(all, agentId(1), selectors))
    },
  )

  it.skipIf(backend.missing)(
    'parent selectors at the size bound in 3-byte characters, and an agent with 2000 selectors (one parameter, no chunks)',
    async () => {
      const { store } = await fresh()
      const wide = (n: number) => `tpm_devid:subject:cn:${String(n).padStart(3, '0')}${'€'.repeat(MAX_SELECTOR_LENGTH - 24)}`
      const parentSelectors = Array.from({ length: 32 }, (_, i) => wide(i))
      expect(parentSelectors.every((s) => s.length === MAX_SELECTOR_LENGTH && Buffer.byteLength(s) > 700)).toBe(true)
      const made = await store.create(
        checkEntryInput({ spiffeId: 'spiffe://example.org/w', parentSelectors, selectors: ['unix:uid:1'] }, TD),
        0,
      )
      const many = Array.from({ length: 2000 }, (_, i) => `tpm_devid:ca:fingerprint:${i.toString(16).padStart(40, '0')}`)
      expect(await store.listForAgent(agentId(1), [...many, ...parentSelectors])).toEqual([made])
      expect(await store.listForAgent(agentId(1), [...many, ...parentSelectors.slice(1)])).toEqual([])
    },
  )
  it.skipIf(backend.missing)(
    'bounded: among 4046 entries the lookup reads only the rows of the agent, through indexes, never a scan',
    async () => {
      const { where } = await fresh()
      const r = await raw(where)
      // 3000 entries under selectors the agent lacks, 1000 under other agents' IDs, 40 sharing one
      // selector with the agent and one it lacks (partial overlap); the agent's: 2 by ID, 4 by selectors
      const rows: RegistrationEntry[] = []
      const add = (i: number, parent: { parentId?: string; parentSelectors?: string[] }) =>
        rows.push({
          ...checkEntryInput({ spiffeId: `spiffe://example.org/w/${i}`, ...parent, selectors: ['unix:uid:1'] }, TD),
          id: newEntryId(),
          createdAt: i,
        })
      for (let i = 0; i < 3000; i++) add(i, { parentSelectors: [S(100 + i), S(100 + ((i + 1) % 3000))] })
      for (let i = 3000; i < 4000; i++) add(i, { parentId: agentId(10 + (i % 500)) })
      for (let i = 4000; i < 4040; i++) add(i, { parentSelectors: [S(1 + (i % 2)), S(5000 + i)] })
      add(4100, { parentId: agentId(1) })
      add(4101, { parentId: agentId(1) })
      add(4102, { parentSelectors: [S(1)] })
      add(4103, { parentSelectors: [S(2)] })
      add(4104, { parentSelectors: [S(1), S(2)] })
      add(4105, { parentSelectors: [S(2), S(3)] })
      for (let i = 0; i < rows.length; i += 500) {
        const batch = rows.slice(i, i + 500)
        const values = batch.map(() => '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)').join(', ')
        await r.all(`${INSERT_ENTRY.slice(0, INSERT_ENTRY.indexOf('VALUES'))} VALUES ${values} RETURNING id`, batch.flatMap(entryParams))
      }
      expect(Number((await r.all('SELECT count(*) AS n FROM entry_parent_selectors'))[0]!.n)).toBe(3000 * 2 + 40 * 2 + 6)
      if (backend.name === 'postgres') await r.exec('ANALYZE entries; ANALYZE entry_parent_selectors')
      const agentSelectors = [S(1), S(2), S(3), ...Array.from({ length: 20 }, (_, i) => `tpm:pub_hash:${String(i).padStart(64, '0')}`)]
      const expected = ['spiffe://example.org/w/4100', 'spiffe://example.org/w/4101'].concat(
        ['4102', '4103', '4104', '4105'].map((n) => `spiffe://example.org/w/${n}`).sort(),
      )
      const tables = ['entries', 'entry_parent_selectors']

      if (backend.name === 'sqlite') {
        const db = openSqliteWasm(where)
        closers.push(async () => db.close())
        const recorded: [string, readonly SqlValue[]][] = []
        const recording: SqlDatabase = {
          exec: (sql) => db.exec(sql),
          run: (sql, params) => db.run(sql, params),
          get: (sql, params) => db.get(sql, params),
          all: (sql, params = []) => {
            recorded.push([sql, params])
            return db.all(sql, params)
          },
          close: () => db.close(),
        }
        const store = new SqliteEntryStore(recording)
        recorded.length = 0
        expect(ids(store.listForAgent(agentId(1), agentSelectors))).toEqual(expected)
        expect(recorded).toHaveLength(2)
        for (const [sql, params] of recorded) {
          const plan = db.all(`EXPLAIN QUERY PLAN ${sql}`, params).map((p) => String(p.detail))
          const touching = plan.filter((d) => tables.some((t) => new RegExp(`\\b${t}\\b`).test(d)))
          expect(touching.length, plan.join('\n')).toBeGreaterThan(0)
          // each read of either table searches an index; none scans a table
          for (const d of touching)
            expect(d, plan.join('\n')).toMatch(/^SEARCH .* USING (COVERING )?INDEX|^SEARCH .* USING INTEGER PRIMARY KEY/)
        }
        // the reference query does scan: the plan check tells the two apart
        expect(db.all('EXPLAIN QUERY PLAN SELECT * FROM entries WHERE parent_id IS NULL').map((p) => String(p.detail))).toContain(
          'SCAN entries',
        )
        return
      }

      const db = await openPostgres(where, { max: 1 })
      closers.push(() => db.close())
      const recorded: [string, readonly SqlValue[]][] = []
      const { got, stats } = await db.transaction(async (tx) => {
        const recording = (q: AsyncSqlQueries): AsyncSqlDatabase => ({
          exec: (sql) => q.exec(sql),
          run: (sql, params) => q.run(sql, params),
          get: (sql, params) => q.get(sql, params),
          all: (sql, params = [], options) => {
            recorded.push([sql, params])
            return q.all(sql, params, options)
          },
          transaction: (fn) => fn(q),
          withLock: (_lock, fn) => fn(q),
          close: async () => undefined,
        })
        const got = await new PgEntryStore(recording(tx)).listForAgent(agentId(1), agentSelectors)
        // what this transaction (the request) did to each table, counted by PostgreSQL itself
        const stats = await tx.all(
          "SELECT relname, seq_scan, seq_tup_read, idx_scan FROM pg_stat_xact_user_tables WHERE relname IN ('entries', 'entry_parent_selectors') ORDER BY relname",
        )
        return { got, stats }
      })
      expect(ids(got)).toEqual(expected)
      expect(stats.map((t) => [t.relname, Number(t.seq_scan), Number(t.seq_tup_read), Number(t.idx_scan) > 0])).toEqual([
        ['entries', 0, 0, true],
        ['entry_parent_selectors', 0, 0, true],
      ])
      expect(recorded).toHaveLength(2)
      /** rows each scan of either table read (returned or filtered out), over the plan of one statement */
      const rowsRead = async (sql: string, params: readonly SqlValue[]) => {
        const [row] = await db.all(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, params)
        const out: { table: string; type: string; rows: number }[] = []
        const walk = (n: Record<string, unknown>) => {
          const table = n['Relation Name'] as string | undefined
          if (table && tables.includes(table)) {
            const read =
              Number(n['Actual Rows']) + Number(n['Rows Removed by Filter'] ?? 0) + Number(n['Rows Removed by Index Recheck'] ?? 0)
            out.push({ table, type: String(n['Node Type']), rows: read * Number(n['Actual Loops']) })
          }
          for (const c of (n.Plans as Record<string, unknown>[] | undefined) ?? []) walk(c)
        }
        const plan = row!['QUERY PLAN'] as unknown
        walk((typeof plan === 'string' ? JSON.parse(plan) : plan)[0].Plan)
        return out
      }
      const reads = (await Promise.all(recorded.map(([sql, params]) => rowsRead(sql, params)))).flat()
      expect(reads.map((x) => x.table).sort()).toEqual(['entries', 'entries', 'entry_parent_selectors'])
      for (const x of reads) expect(x.type, JSON.stringify(reads)).toMatch(/^(Index|Index Only|Bitmap Heap|Bitmap Index) Scan$/)
      // 2 by ID; the 40 + 6 links of the agent's selectors, and the 4 entries they select
      expect(
        reads.reduce((n, x) => n + x.rows, 0),
        JSON.stringify(reads),
      ).toBeLessThanOrEqual(2 + 46 + 4)
      // the read-everything query of the reference reads every selector-parented entry
      const before = await rowsRead('SELECT * FROM entries WHERE parent_id IS NULL', [])
      expect(before.reduce((n, x) => n + x.rows, 0)).toBeGreaterThanOrEqual(3000 + 40 + 4)
    },
  )
})
