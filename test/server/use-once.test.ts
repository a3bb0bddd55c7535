import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openSqliteWasm } from '../../server/entry/sqlite-wasm.ts'
import { createSqlUseOnceStore } from '../../server/registry/use-once.ts'

const dbPath = () => join(mkdtempSync(join(tmpdir(), 'vouch-use-once-')), 'agents.db')

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

  it('records are kept until expiry + grace, then purged lazily', async () => {
    const db = openSqliteWasm(dbPath())
    let t = 0
    const s = createSqlUseOnceStore(db, { now: () => t, graceMs: 50, purgeEveryMs: 0 })
    expect(await s.claim('a', 100)).toBe(true)
    t = 150
    expect(await s.claim('a', 100)).toBe(false)
    t = 151
    expect(await s.size()).toBe(0)
    db.close()
  })
})
