import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AttestationError } from '../../core/errors.ts'
import { SESSION_EXPIRED } from '../../core/messages.ts'
import type { UseOnceStore } from '../../core/session/use-once.ts'
import { openSqliteWasm } from '../../server/entry/sqlite-wasm.ts'
import { openPostgres } from '../../server/entry/postgres.ts'
import { PgAgentRegistry } from '../../server/registry/registry-pg.ts'
import {
  createAsyncSqlUseOnceStore,
  createSqlUseOnceStore,
  USE_ONCE_PURGE_MARGIN_MS,
  RecentClaims,
} from '../../server/registry/use-once.ts'
import { postgresMissing, startPostgres, type TestPostgres } from '../support/postgres.ts'

const dbPath = () => join(mkdtempSync(join(tmpdir(), 'vouch-use-once-')), 'agents.db')
const tooLate = (e: unknown) => e instanceof AttestationError && e.code === 'ERR_SESSION_EXPIRED' && e.message === SESSION_EXPIRED

describe('SQL use-once store on node-sqlite3-wasm', () => {
  it('claim is true only the first time, and the record survives reopening the file', async () => {
    const path = dbPath()
    const db1 = openSqliteWasm(path)
    const s1 = createSqlUseOnceStore(db1, { now: () => 0 })
    expect(await s1.claim('a', 1000)).toBe(true)
    expect(await s1.claim('a', 1000)).toBe(false)
    expect(await s1.claim('b', 1000)).toBe(true)
    db1.close()
    const db2 = openSqliteWasm(path)
    const s2 = createSqlUseOnceStore(db2, { now: () => 0 })
    expect(await s2.claim('a', 1000)).toBe(false)
    expect(await s2.size()).toBe(2)
    db2.close()
  })

  it('concurrent claims of one id: exactly one true', async () => {
    const db = openSqliteWasm(dbPath())
    const a = createSqlUseOnceStore(db, { now: () => 0 })
    const b = createSqlUseOnceStore(db, { now: () => 0 })
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).claim('x', 1000)))
    expect(results.filter(Boolean)).toHaveLength(1)
    db.close()
  })

  it('records are kept until expiry + grace + the purge margin, then purged lazily; claims are taken until expiry + grace only', async () => {
    const db = openSqliteWasm(dbPath())
    let t = 0
    const s = createSqlUseOnceStore(db, { now: () => t, graceMs: 50, purgeEveryMs: 0 })
    expect(await s.claim('a', 100)).toBe(true)
    t = 150
    expect(await s.claim('a', 100)).toBe(false)
    t = 151
    await expect(s.claim('b', 100)).rejects.toSatisfy(tooLate)
    // past the last moment a claim is taken, the record stays for the margin (a claim judged in
    // time may still be in flight)
    expect(await s.size()).toBe(1)
    t = 150 + USE_ONCE_PURGE_MARGIN_MS
    expect(await s.size()).toBe(1)
    t = 151 + USE_ONCE_PURGE_MARGIN_MS
    expect(await s.size()).toBe(0)
    db.close()
  })

  it("size()'s purge joins the write batch: it cannot delete a record between a claim's judgement and its commit on the writer thread", async () => {
    const path = dbPath()
    let t = 0
    // the session's first answer, taken by another connection to the file (another worker process)
    const first = openSqliteWasm(path)
    expect(await createSqlUseOnceStore(first, { now: () => t, graceMs: 50, purgeEveryMs: 0 }).claim('a', 100)).toBe(true)
    const db = openSqliteWasm(path, { writerThread: true })
    const s = createSqlUseOnceStore(db, { now: () => t, graceMs: 50, purgeEveryMs: 0 })
    // a replay of it, judged in time (expiry 100 + grace 50) when its batch is handed to the writer
    t = 150
    const replay = s.claim('a', 100)
    await new Promise((resolve) => setImmediate(resolve))
    // then the gauge is read, past the grace and the purge margin, before the writer has run the batch
    t = 151 + USE_ONCE_PURGE_MARGIN_MS
    const size = s.size()
    expect(await replay).toBe(false)
    expect(await size).toBe(0)
    db.close()
    first.close()
  })
})

describe.skipIf(postgresMissing() !== undefined)('SQL use-once store on PostgreSQL (claims batched into one statement)', () => {
  let pg: TestPostgres
  beforeAll(async () => {
    pg = await startPostgres()
  }, 120_000)
  afterAll(() => pg?.stop())

  const open = async () => {
    const db = await openPostgres(await pg.createDatabase(`vouch_use_once_${process.pid}_${Math.random().toString(36).slice(2, 8)}`))
    const registry = await PgAgentRegistry.open(db) // migration 4 makes used_sessions
    return { registry }
  }

  it('claims arriving together: one true per id (an id repeated in one batch, and two stores racing), records kept', async () => {
    const { registry } = await open()
    const a = createAsyncSqlUseOnceStore(registry.queries, { now: () => 0 })
    const ids = ['a', 'b', 'c', 'a', 'b', 'a']
    const first = await Promise.all(ids.map((id) => a.claim(id, 1000)))
    expect(first).toEqual([true, true, true, false, false, false])
    expect(await a.claim('a', 1000)).toBe(false)
    // 50 concurrent claims of one new id through two stores (two batches, racing in the database)
    const b = createAsyncSqlUseOnceStore(registry.queries, { now: () => 0 })
    const raced = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? a : b).claim('x', 1000)))
    expect(raced.filter(Boolean)).toHaveLength(1)
    expect(await a.size()).toBe(4)
    // both stores know x now, the one that lost the race too (UseOnceStore.seen); neither knows y
    expect([a.seen?.('x'), b.seen?.('x'), a.seen?.('y')]).toEqual([true, true, false])
    await registry.close()
  })

  it('two stores claim the same 500 ids in opposite orders at once (a replay on two replicas): one true per id', async () => {
    const { registry } = await open()
    const a = createAsyncSqlUseOnceStore(registry.queries, { now: () => 0 })
    const b = createAsyncSqlUseOnceStore(registry.queries, { now: () => 0 })
    const ids = Array.from({ length: 500 }, (_, i) => `replayed-${i}`)
    const [fromA, fromB] = await Promise.all([
      Promise.all(ids.map((id) => a.claim(id, 1000))),
      Promise.all([...ids].reverse().map((id) => b.claim(id, 1000))),
    ])
    const wonB = [...fromB].reverse()
    expect(ids.every((_, i) => fromA[i] !== wonB[i])).toBe(true)
    expect(await a.size()).toBe(500)
    await registry.close()
  })

  it('more claims than one statement holds: every distinct id is claimed once', async () => {
    const { registry } = await open()
    const s = createAsyncSqlUseOnceStore(registry.queries, { now: () => 0 })
    const ids = Array.from({ length: 1200 }, (_, i) => `id-${i % 1100}`)
    const results = await Promise.all(ids.map((id) => s.claim(id, 1000)))
    expect(results.filter(Boolean)).toHaveLength(1100)
    expect(results.slice(1100).every((r) => r === false)).toBe(true)
    expect(await s.size()).toBe(1100)
    await registry.close()
  })
})

describe('RecentClaims: the ids a store has seen claimed (UseOnceStore.seen)', () => {
  it('knows an id until its session expires, forgets the oldest past its capacity, and never grows past it', () => {
    let t = 0
    const recent = new RecentClaims(() => t, 3)
    recent.add('a', 100)
    recent.add('b', 200)
    expect([recent.has('a'), recent.has('b'), recent.has('c')]).toEqual([true, true, false])
    t = 150
    expect([recent.has('a'), recent.has('b')]).toEqual([false, true])
    for (const id of ['c', 'd', 'e', 'f']) recent.add(id, 1000)
    // capacity 3: a (expired) and b, c are out; d, e, f are known
    expect(['b', 'c', 'd', 'e', 'f'].map((id) => recent.has(id))).toEqual([false, false, true, true, true])
    for (let i = 0; i < 1000; i++) recent.add(`x${i}`, 1000)
    expect(['x997', 'x998', 'x999'].every((id) => recent.has(id))).toBe(true)
    expect(recent.has('x996')).toBe(false)
  })

  it('the SQLite store feeds it from its claims, won or lost (the PostgreSQL store: above)', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'vouch-seen-')), 'agents.db')
    const used = createSqlUseOnceStore(openSqliteWasm(path), { now: () => 0 })
    expect(used.seen?.('s')).toBe(false)
    expect(await used.claim('s', 1000)).toBe(true)
    expect(used.seen?.('s')).toBe(true)
    // another store on the same file (a restart) lost the claim: it knows the id too
    const other = createSqlUseOnceStore(openSqliteWasm(path), { now: () => 0 })
    expect(await other.claim('s', 1000)).toBe(false)
    expect(other.seen?.('s')).toBe(true)
  })
})

const pgMissing = postgresMissing()
let sharedPg: TestPostgres | undefined
/** a use-once store over a fresh database, with the clock `now` and a grace of 50 ms, and how to close it */
type StoreMaker = (now: () => number) => Promise<{ store: UseOnceStore; close(): Promise<unknown> }>
const makers: [string, StoreMaker, string | undefined][] = [
  [
    'SQLite, on this thread',
    async (now) => {
      const db = openSqliteWasm(dbPath())
      return { store: createSqlUseOnceStore(db, { now, graceMs: 50, purgeEveryMs: 0 }), close: async () => db.close() }
    },
    undefined,
  ],
  [
    'SQLite, writer thread',
    async (now) => {
      const db = openSqliteWasm(dbPath(), { writerThread: true })
      return { store: createSqlUseOnceStore(db, { now, graceMs: 50, purgeEveryMs: 0 }), close: async () => db.close() }
    },
    undefined,
  ],
  [
    'PostgreSQL',
    async (now) => {
      sharedPg ??= await startPostgres()
      const registry = await PgAgentRegistry.open(
        await openPostgres(await sharedPg.createDatabase(`vouch_use_once_late_${process.pid}_${Math.random().toString(36).slice(2, 8)}`)),
      )
      return { store: createAsyncSqlUseOnceStore(registry.queries, { now, graceMs: 50, purgeEveryMs: 0 }), close: () => registry.close() }
    },
    pgMissing,
  ],
]
afterAll(() => sharedPg?.stop())

for (const [name, make, skip] of makers) {
  describe.skipIf(skip !== undefined)(`use-once claims past expiry + grace (${name})`, () => {
    it('a claim committed once expiry + grace is past is refused as expired and inserts nothing, though no record exists', async () => {
      let t = 0
      const { store, close } = await make(() => t)
      t = 150 // session expiry 100 + grace 50: still kept by a purge now, so still claimable
      expect(await store.claim('in-time', 100)).toBe(true)
      t = 151
      await expect(store.claim('late', 100)).rejects.toSatisfy(tooLate)
      await expect(store.claim('in-time', 100)).rejects.toSatisfy(tooLate)
      expect(await store.size()).toBe(1) // 'in-time' kept for the purge margin, 'late' never inserted
      t = 151 + USE_ONCE_PURGE_MARGIN_MS
      expect(await store.size()).toBe(0)
      await close()
    }, 120_000)

    it('purged, then claimed again: refused, never a second use', async () => {
      let t = 0
      const { store, close } = await make(() => t)
      expect(await store.claim('a', 100)).toBe(true)
      expect(await store.claim('a', 100)).toBe(false)
      t = 200 + USE_ONCE_PURGE_MARGIN_MS
      expect(await store.size()).toBe(0) // the record is purged
      await expect(store.claim('a', 100)).rejects.toSatisfy(tooLate)
      expect(await store.size()).toBe(0)
      await close()
    }, 120_000)

    it('a claim made in time but committed late (its batch sent after the clock passed expiry + grace) is refused', async () => {
      let t = 0
      const { store, close } = await make(() => t)
      const claimed = store.claim('held', 100)
      const claimedToo = store.claim('held-too', 100_000)
      t = 151 // before the batch goes to the database
      await expect(claimed).rejects.toSatisfy(tooLate)
      expect(await claimedToo).toBe(true)
      expect(await store.size()).toBe(1)
      await close()
    }, 120_000)
  })
}
