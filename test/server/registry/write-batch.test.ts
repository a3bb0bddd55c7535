import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openSqliteWasm } from '../../../server/entry/sqlite-wasm.ts'
import { AgentRegistry } from '../../../server/registry/registry.ts'
import type { SqlDatabase } from '../../../server/registry/sql.ts'
import { createSqlUseOnceStore } from '../../../server/registry/use-once.ts'
import { SqlWriteBatch, writeBatchFor } from '../../../server/registry/write-batch.ts'

/** A real SQLite connection whose exec calls are logged (BEGIN/COMMIT/ROLLBACK). */
function counted() {
  const db = openSqliteWasm(join(mkdtempSync(join(tmpdir(), 'vouch-batch-')), 'agents.db'))
  const log: string[] = []
  const wrapped: SqlDatabase = {
    ...db,
    exec: (sql) => {
      log.push(sql.trim().split(/\s+/)[0]!)
      db.exec(sql)
    },
  }
  return { db: wrapped, log }
}
const rec = (id: string, at: number) => ({ spiffeId: id, attestorType: 'tpm_devid', attributes: {}, at })

describe('SQLite write batch', () => {
  it('one batch per connection: the registry and the use-once store on one connection share it', () => {
    const { db } = counted()
    expect(writeBatchFor(db)).toBe(writeBatchFor(db))
    expect(writeBatchFor(db)).toBeInstanceOf(SqlWriteBatch)
    db.close()
  })

  it('use-once claims and attestation records arriving together commit in one transaction; each resolves after COMMIT', async () => {
    const { db, log } = counted()
    const registry = new AgentRegistry(db)
    const used = createSqlUseOnceStore(db, { now: () => 0 })
    log.length = 0
    const settled: string[] = []
    const all = Promise.all([
      used.claim('s1', 1000).then((r) => (settled.push('claim s1'), r)),
      registry.commitAttestation(rec('spiffe://td/a', 1)).then((r) => (settled.push('commit a'), r)),
      used.claim('s1', 1000),
      used.claim('s2', 1000),
    ])
    expect(settled).toEqual([])
    expect(await all).toEqual([true, 'recorded', false, true])
    expect(log).toEqual(['BEGIN', 'COMMIT'])
    expect(await used.size()).toBe(2)
    expect(registry.get('spiffe://td/a')?.attestations).toBe(1)
    db.close()
  })

  it('an operation that throws rolls back the whole batch (claims included) and rejects every caller in it', async () => {
    const { db, log } = counted()
    const used = createSqlUseOnceStore(db, { now: () => 0 })
    const batch = writeBatchFor(db)
    log.length = 0
    const results = await Promise.allSettled([
      used.claim('x', 1000),
      batch.run({
        run: () => {
          throw new Error('disk full')
        },
        statements: [{ sql: 'SELECT 1', params: [] }],
        fromRows: () => undefined,
      }),
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(log).toEqual(['BEGIN', 'ROLLBACK'])
    // nothing was recorded: the claim can still be made, once
    expect(await used.claim('x', 1000)).toBe(true)
    expect(await used.claim('x', 1000)).toBe(false)
    db.close()
  })
})

describe('SQLite write batch on the writer thread (openSqliteWasm writerThread)', () => {
  it('claims and records commit on the writer connection: outcomes as on this thread, a banned agent written nothing', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'vouch-writer-')), 'agents.db')
    const db = openSqliteWasm(path, { writerThread: true })
    expect(typeof db.writeTransaction).toBe('function')
    const registry = new AgentRegistry(db)
    const used = createSqlUseOnceStore(db, { now: () => 0 })
    await registry.commitAttestation(rec('spiffe://td/banned', 1))
    registry.setBanned('spiffe://td/banned', true)
    const outcomes = await Promise.all([
      used.claim('s', 1000),
      used.claim('s', 1000),
      registry.commitAttestation(rec('spiffe://td/banned', 5)),
      registry.commitAttestation(rec('spiffe://td/ok', 5)),
      registry.commitAttestation(rec('spiffe://td/ok', 6)),
    ])
    expect(outcomes).toEqual([true, false, 'banned', 'recorded', 'recorded'])
    // what the writer committed is read back through this thread's connection, and after reopening
    expect(registry.get('spiffe://td/banned')).toMatchObject({ attestations: 1, lastAttestedAt: 1, banned: true })
    expect(registry.get('spiffe://td/ok')).toMatchObject({ attestations: 2, firstAttestedAt: 5, lastAttestedAt: 6 })
    expect(await used.size()).toBe(1)
    db.close()
    const again = openSqliteWasm(path)
    expect(await createSqlUseOnceStore(again, { now: () => 0 }).claim('s', 1000)).toBe(false)
    expect(new AgentRegistry(again).get('spiffe://td/ok')?.attestations).toBe(2)
    again.close()
  })

  it('50 concurrent claims of one id through the writer: exactly one true; a failing statement rejects its batch only', async () => {
    const db = openSqliteWasm(join(mkdtempSync(join(tmpdir(), 'vouch-writer-')), 'agents.db'), { writerThread: true })
    const used = createSqlUseOnceStore(db, { now: () => 0 })
    const claims = await Promise.all(Array.from({ length: 50 }, () => used.claim('x', 1000)))
    expect(claims.filter(Boolean)).toHaveLength(1)
    const batch = writeBatchFor(db)
    const results = await Promise.allSettled([
      used.claim('y', 1000),
      batch.run({
        run: () => undefined,
        statements: [{ sql: 'INSERT INTO no_such_table VALUES (1)', params: [] }],
        fromRows: () => undefined,
      }),
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect((results[1] as PromiseRejectedResult).reason.message).toMatch(/no such table/)
    // rolled back: y was not recorded, and the next batch works
    expect(await used.claim('y', 1000)).toBe(true)
    db.close()
    // closed: a write is refused, no writer thread is started again
    await expect(used.claim('z', 1000)).rejects.toThrow(/closed/)
  })
})
