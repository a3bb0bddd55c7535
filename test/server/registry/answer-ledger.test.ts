/**
 * The answer ledger (server/registry/answer-ledger.ts): an answer's use-once claim and its agent
 * record settled in one step. On SQLite they are one transaction, on this thread's connection and
 * on the writer thread (whose upsert is guarded by the claim's `changes()`): a won claim records, a
 * lost one writes nothing, a banned agent is not recorded but its session is burned, and racing
 * settles of one session record once. The two-step ledger (PostgreSQL's) gives the same outcomes.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { openSqliteWasm } from '../../../server/entry/sqlite-wasm.ts'
import { type AnswerLedger, sqliteAnswerLedger, twoStepAnswerLedger } from '../../../server/registry/answer-ledger.ts'
import { AgentRegistry } from '../../../server/registry/registry.ts'
import type { SqlDatabase } from '../../../server/registry/sql.ts'
import { createSqlUseOnceStore } from '../../../server/registry/use-once.ts'

const AGENT = 'spiffe://example.org/agent/tpm_devid/1'
const record = (at: number) => ({ spiffeId: AGENT, attestorType: 'tpm_devid', attributes: { k: 'v' }, at, selectors: ['tpm_devid:x'] })
const claim = (id: string) => ({ id, expiresAt: 10_000 })

/** a SQLite connection (with or without its writer thread) whose transactions are counted */
function open(writerThread: boolean) {
  const db = openSqliteWasm(join(mkdtempSync(join(tmpdir(), 'vouch-ledger-')), 'agents.db'), { writerThread })
  let transactions = 0
  const counted: SqlDatabase = {
    ...db,
    exec: (sql) => {
      if (/^BEGIN/.test(sql.trim())) transactions++
      db.exec(sql)
    },
    ...(db.writeTransaction
      ? {
          writeTransaction: (statements) => {
            transactions++
            return db.writeTransaction!(statements)
          },
        }
      : {}),
  }
  const registry = new AgentRegistry(counted)
  const used = createSqlUseOnceStore(counted, { now: () => 0 })
  return { db: counted, registry, used, transactions: () => transactions }
}

const ledgers: [string, (o: ReturnType<typeof open>) => AnswerLedger][] = [
  ['SQLite, one transaction', (o) => sqliteAnswerLedger(o.used, o.registry)],
  ['two steps (the PostgreSQL ledger), over SQLite', (o) => twoStepAnswerLedger(o.used, o.registry)],
]

for (const writerThread of [false, true]) {
  for (const [name, make] of ledgers) {
    describe(`answer ledger: ${name}${writerThread ? ', writer thread' : ''}`, () => {
      it('a won claim records the agent; the same claim again writes nothing; the store then knows the id (seen)', async () => {
        const o = open(writerThread)
        const ledger = make(o)
        expect(o.used.seen?.('s1')).toBe(false)
        expect(await ledger.settle({ claim: claim('s1'), record: record(1) })).toEqual({ claimed: true, recorded: 'recorded' })
        expect(o.used.seen?.('s1')).toBe(true)
        expect(await ledger.settle({ claim: claim('s1'), record: record(2) })).toEqual({ claimed: false })
        expect(o.registry.get(AGENT)).toMatchObject({ attestations: 1, lastAttestedAt: 1, selectors: ['tpm_devid:x'] })
        expect(await o.used.size()).toBe(1)
        o.db.close()
      })

      it('a failed answer (no record) burns the session: a later answer with a record is not claimed and not recorded', async () => {
        const o = open(writerThread)
        const ledger = make(o)
        expect(await ledger.settle({ claim: claim('s2') })).toEqual({ claimed: true })
        expect(await ledger.settle({ claim: claim('s2'), record: record(3) })).toEqual({ claimed: false })
        expect(o.registry.get(AGENT)).toBeUndefined()
        o.db.close()
      })

      it('a banned agent: the claim is made (the session burned), the record is not', async () => {
        const o = open(writerThread)
        const ledger = make(o)
        await ledger.settle({ claim: claim('s3'), record: record(1) })
        o.registry.setBanned(AGENT, true)
        expect(await ledger.settle({ claim: claim('s4'), record: record(5) })).toEqual({ claimed: true, recorded: 'banned' })
        expect(await ledger.settle({ claim: claim('s4') })).toEqual({ claimed: false })
        expect(o.registry.get(AGENT)).toMatchObject({ attestations: 1, lastAttestedAt: 1, banned: true })
        o.db.close()
      })

      it('20 settles of one session at once: exactly one is claimed and recorded', async () => {
        const o = open(writerThread)
        const ledger = make(o)
        const results = await Promise.all(Array.from({ length: 20 }, (_, i) => ledger.settle({ claim: claim('race'), record: record(i) })))
        expect(results.filter((r) => r.claimed)).toEqual([{ claimed: true, recorded: 'recorded' }])
        expect(o.registry.get(AGENT)?.attestations).toBe(1)
        o.db.close()
      })
    })
  }

  it(`SQLite${writerThread ? ', writer thread' : ''}: an answer's claim and record are one transaction, and answers arriving together share it`, async () => {
    const o = open(writerThread)
    const ledger = sqliteAnswerLedger(o.used, o.registry)
    const before = o.transactions()
    await ledger.settle({ claim: claim('one'), record: record(1) })
    expect(o.transactions() - before).toBe(1)
    const together = o.transactions()
    await Promise.all(['a', 'b', 'c', 'd'].map((id, i) => ledger.settle({ claim: claim(id), record: record(10 + i) })))
    expect(o.transactions() - together).toBe(1)
    expect(o.registry.get(AGENT)?.attestations).toBe(5)
    // the two-step ledger takes two
    const twoStep = twoStepAnswerLedger(o.used, o.registry)
    const t = o.transactions()
    await twoStep.settle({ claim: claim('two'), record: record(20) })
    expect(o.transactions() - t).toBe(2)
    o.db.close()
  })
}
