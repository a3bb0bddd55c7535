/**
 * The answer ledger (server/registry/answer-ledger.ts): an answer's use-once claim and its agent
 * record settled in one step. On SQLite they are one transaction, on this thread's connection and
 * on the writer thread (whose upsert is guarded by the claim's `changes()`): a won claim records, a
 * lost one writes nothing, a banned agent is not recorded but its session is burned, and racing
 * settles of one session record once. On PostgreSQL (a real server, test/support/postgres.ts) the
 * settlements of one turn are one statement with the same outcomes, also between two replicas'
 * ledgers racing, and one agent's records in one statement fold into one row.
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AttestationError } from '../../../core/errors.ts'
import { SESSION_EXPIRED } from '../../../core/messages.ts'
import { openSqliteWasm } from '../../../server/entry/sqlite-wasm.ts'
import { openPostgres } from '../../../server/entry/postgres.ts'
import { type AnswerLedger, sqliteAnswerLedger } from '../../../server/registry/answer-ledger.ts'
import { pgAnswerLedger } from '../../../server/registry/answer-ledger-pg.ts'
import { PgAgentRegistry } from '../../../server/registry/registry-pg.ts'
import { AgentRegistry } from '../../../server/registry/registry.ts'
import type { AsyncSqlDatabase, SqlDatabase } from '../../../server/registry/sql.ts'
import { createAsyncSqlUseOnceStore, createSqlUseOnceStore, USE_ONCE_PURGE_MARGIN_MS } from '../../../server/registry/use-once.ts'
import { postgresMissing, startPostgres, type TestPostgres } from '../../support/postgres.ts'

const AGENT = 'spiffe://example.org/agent/tpm_devid/1'
const record = (at: number) => ({ spiffeId: AGENT, attestorType: 'tpm_devid', attributes: { k: 'v' }, at, selectors: ['tpm_devid:x'] })
const claim = (id: string) => ({ id, expiresAt: 10_000 })
/** the use-once stores' clock (ms); each backend starts it at 0 */
let clock = 0
/** past the claims' session expiry (10 s) plus the default grace (60 s) */
const PAST_GRACE = 10_000 + 60_000 + 1
const tooLate = (e: unknown) => e instanceof AttestationError && e.code === 'ERR_SESSION_EXPIRED' && e.message === SESSION_EXPIRED

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
  clock = 0
  const used = createSqlUseOnceStore(counted, { now: () => clock })
  return { db: counted, registry, used, transactions: () => transactions }
}

/** a backend: its ledger, its use-once store's hint, the agent's row, a ban, and a close */
interface Backend {
  readonly ledger: AnswerLedger
  seen(id: string): boolean | undefined
  agent(spiffeId?: string): Promise<
    | {
        attestations: number
        firstAttestedAt: number
        lastAttestedAt: number
        banned: boolean
        svidSerial: string | null
        selectors: readonly string[]
      }
    | undefined
  >
  ban(): Promise<unknown>
  /** the use-once records held, after a purge */
  purge(): Promise<number>
  close(): Promise<unknown>
}

function sqlite(writerThread: boolean): Backend {
  const o = open(writerThread)
  return {
    ledger: sqliteAnswerLedger(o.used, o.registry),
    seen: (id) => o.used.seen?.(id),
    agent: async (id = AGENT) => o.registry.get(id),
    ban: async () => o.registry.setBanned(AGENT, true),
    purge: () => o.used.size(),
    close: async () => o.db.close(),
  }
}

const missing = postgresMissing()
let pg: TestPostgres | undefined
beforeAll(async () => {
  if (!missing) pg = await startPostgres()
}, 120_000)
afterAll(() => pg?.stop())

async function postgres(): Promise<Backend & { replica(): AnswerLedger; readonly db: AsyncSqlDatabase }> {
  const db = await openPostgres(await pg!.createDatabase(`vouch_ledger_${process.pid}_${Math.random().toString(36).slice(2, 8)}`))
  const registry = await PgAgentRegistry.open(db)
  clock = 0
  const used = createAsyncSqlUseOnceStore(registry.queries, { now: () => clock })
  return {
    db,
    ledger: pgAnswerLedger(registry.queries, used),
    // another replica on the same database: its own store and ledger
    replica: () => pgAnswerLedger(registry.queries, createAsyncSqlUseOnceStore(registry.queries, { now: () => clock })),
    seen: (id) => used.seen?.(id),
    agent: async (id = AGENT) => registry.get(id),
    ban: () => registry.setBanned(AGENT, true),
    purge: () => used.size(),
    close: () => registry.close(),
  }
}

const backends: [string, () => Promise<Backend>, string | undefined][] = [
  ['SQLite, on this thread', async () => sqlite(false), undefined],
  ['SQLite, writer thread', async () => sqlite(true), undefined],
  ['PostgreSQL, one statement per batch', postgres, missing],
]

for (const [name, make, skip] of backends) {
  describe.skipIf(skip !== undefined)(`answer ledger: ${name}`, () => {
    it('a won claim records the agent; the same claim again writes nothing; the store then knows the id (seen)', async () => {
      const b = await make()
      expect(b.seen('s1')).toBe(false)
      expect(await b.ledger.settle({ claim: claim('s1'), record: record(1) })).toEqual({ claimed: true, recorded: 'recorded' })
      expect(b.seen('s1')).toBe(true)
      expect(await b.ledger.settle({ claim: claim('s1'), record: record(2) })).toEqual({ claimed: false })
      expect(await b.agent()).toMatchObject({ attestations: 1, lastAttestedAt: 1, selectors: ['tpm_devid:x'] })
      await b.close()
    })

    it('a failed answer (no record) burns the session: a later answer with a record is not claimed and not recorded', async () => {
      const b = await make()
      expect(await b.ledger.settle({ claim: claim('s2') })).toEqual({ claimed: true })
      expect(await b.ledger.settle({ claim: claim('s2'), record: record(3) })).toEqual({ claimed: false })
      expect(await b.agent()).toBeUndefined()
      await b.close()
    })

    it('a banned agent: the claim is made (the session burned), the record is not', async () => {
      const b = await make()
      await b.ledger.settle({ claim: claim('s3'), record: record(1) })
      await b.ban()
      expect(await b.ledger.settle({ claim: claim('s4'), record: record(5) })).toEqual({ claimed: true, recorded: 'banned' })
      expect(await b.ledger.settle({ claim: claim('s4') })).toEqual({ claimed: false })
      expect(await b.agent()).toMatchObject({ attestations: 1, lastAttestedAt: 1, banned: true })
      await b.close()
    })

    it("one agent's answers settled together: the last to arrive is its latest record, whatever the order of their session ids", async () => {
      const b = await make()
      const at = (t: number, serial: string) => ({ ...record(t), svidSerial: serial, svidExpiresAt: t + 1000 })
      const [late, later] = await Promise.all([
        b.ledger.settle({ claim: claim('zz-first'), record: at(100, '0a') }),
        b.ledger.settle({ claim: claim('aa-second'), record: at(200, '0b') }),
      ])
      expect([late, later]).toEqual([
        { claimed: true, recorded: 'recorded' },
        { claimed: true, recorded: 'recorded' },
      ])
      expect(await b.agent()).toMatchObject({ attestations: 2, firstAttestedAt: 100, lastAttestedAt: 200, svidSerial: '0b' })
      await b.close()
    })

    it('a banned agent among others settled together: its sessions burned and nothing recorded, the others recorded, a lost claim not', async () => {
      const b = await make()
      const OTHER = 'spiffe://example.org/agent/tpm_devid/2'
      await b.ledger.settle({ claim: claim('x0'), record: record(1) })
      await b.ban()
      const results = await Promise.all([
        b.ledger.settle({ claim: claim('x1'), record: record(10) }),
        b.ledger.settle({ claim: claim('y1'), record: { ...record(11), spiffeId: OTHER } }),
        b.ledger.settle({ claim: claim('x2'), record: record(12) }),
        b.ledger.settle({ claim: claim('x0'), record: { ...record(13), spiffeId: OTHER } }),
        b.ledger.settle({ claim: claim('y2'), record: { ...record(14), spiffeId: OTHER } }),
      ])
      expect(results).toEqual([
        { claimed: true, recorded: 'banned' },
        { claimed: true, recorded: 'recorded' },
        { claimed: true, recorded: 'banned' },
        { claimed: false },
        { claimed: true, recorded: 'recorded' },
      ])
      expect(await b.agent()).toMatchObject({ attestations: 1, lastAttestedAt: 1, banned: true })
      expect(await b.agent(OTHER)).toMatchObject({ attestations: 2, firstAttestedAt: 11, lastAttestedAt: 14, banned: false })
      for (const id of ['x1', 'x2']) expect(await b.ledger.settle({ claim: claim(id) })).toEqual({ claimed: false })
      await b.close()
    })

    it('20 settles of one session at once: exactly one is claimed and recorded; other sessions of the agent in the same batch all count', async () => {
      const b = await make()
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => b.ledger.settle({ claim: claim('race'), record: record(i) })))
      expect(results.filter((r) => r.claimed)).toEqual([{ claimed: true, recorded: 'recorded' }])
      expect((await b.agent())?.attestations).toBe(1)
      const more = await Promise.all([100, 101, 102].map((at) => b.ledger.settle({ claim: claim(`m${at}`), record: record(at) })))
      expect(more.every((r) => r.claimed && r.recorded === 'recorded')).toBe(true)
      expect(await b.agent()).toMatchObject({ attestations: 4, lastAttestedAt: 102 })
      await b.close()
    })

    it("a settlement committed past its session's expiry + grace: refused as expired, nothing written, though no record exists", async () => {
      const b = await make()
      clock = PAST_GRACE
      await expect(b.ledger.settle({ claim: claim('late'), record: record(1) })).rejects.toSatisfy(tooLate)
      await expect(b.ledger.settle({ claim: claim('late-failed') })).rejects.toSatisfy(tooLate)
      expect(await b.agent()).toBeUndefined()
      expect(await b.purge()).toBe(0)
      await b.close()
    })

    it('purged, then the same session settled again (a replay checked in time, settled late): refused, the agent recorded once', async () => {
      const b = await make()
      expect(await b.ledger.settle({ claim: claim('once'), record: record(1) })).toEqual({ claimed: true, recorded: 'recorded' })
      clock = PAST_GRACE + USE_ONCE_PURGE_MARGIN_MS
      expect(await b.purge()).toBe(0) // the first record is gone
      await expect(b.ledger.settle({ claim: claim('once'), record: record(2) })).rejects.toSatisfy(tooLate)
      expect(await b.agent()).toMatchObject({ attestations: 1, lastAttestedAt: 1 })
      expect(await b.purge()).toBe(0)
      await b.close()
    })

    it('settlements made in time whose commit comes past the grace (the clock moves before their batch goes): refused; a live one in the batch is recorded', async () => {
      const b = await make()
      const late = b.ledger.settle({ claim: claim('held'), record: record(1) })
      const live = b.ledger.settle({ claim: { id: 'live', expiresAt: 100_000 }, record: record(2) })
      clock = PAST_GRACE
      await expect(late).rejects.toSatisfy(tooLate)
      expect(await live).toEqual({ claimed: true, recorded: 'recorded' })
      expect(await b.agent()).toMatchObject({ attestations: 1, lastAttestedAt: 2 })
      await b.close()
    })
  })
}

describe.skipIf(missing !== undefined)('answer ledger on PostgreSQL: two replicas, and batches past one statement', () => {
  it('two replicas settling the same sessions at once: each session is claimed and recorded once', async () => {
    const b = await postgres()
    const other = b.replica()
    const ids = Array.from({ length: 30 }, (_, i) => `r${i}`)
    const results = await Promise.all(
      ids.flatMap((id, i) => [
        b.ledger.settle({ claim: claim(id), record: record(i) }),
        other.settle({ claim: claim(id), record: record(i) }),
      ]),
    )
    expect(results.filter((r) => r.claimed)).toHaveLength(30)
    expect((await b.agent())?.attestations).toBe(30)
    await b.close()
  })

  it('a claim in flight on another connection: the statement waits for it; committed, it writes nothing; rolled back, it claims and records', async () => {
    const b = await postgres()
    /** a transaction holding `id`'s use-once row uncommitted until `end` is called; then commits, or rolls back */
    const holding = async (id: string, commit: boolean) => {
      let end!: () => void
      const ended = new Promise<void>((r) => (end = r))
      let inserted!: () => void
      const held = new Promise<void>((r) => (inserted = r))
      const done = b.db
        .transaction(async (tx) => {
          await tx.run('INSERT INTO used_sessions (id, expires_at) VALUES (?, ?)', [id, 10_000])
          inserted()
          await ended
          if (!commit) throw new Error('rolled back')
        })
        .catch(() => undefined)
      await held
      return { end, done }
    }
    /** until a backend waits on a lock (the settle statement meeting the uncommitted row) */
    const blocked = async () => {
      for (;;) {
        const row = await b.db.get(
          "SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
        )
        if (Number(row?.n) > 0) return
        await new Promise((r) => setImmediate(r))
      }
    }
    for (const [id, commit, expected, attestations] of [
      ['held-commit', true, { claimed: false }, undefined],
      ['held-rollback', false, { claimed: true, recorded: 'recorded' }, 1],
    ] as const) {
      const other = await holding(id, commit)
      const settled = b.ledger.settle({ claim: claim(id), record: record(5) })
      await blocked()
      other.end()
      await other.done
      expect(await settled).toEqual(expected)
      expect((await b.agent())?.attestations).toBe(attestations)
    }
    await b.close()
  })

  it('two replicas settling the same sessions of several agents, arriving in opposite orders: each session claimed once, each agent counted once per session', async () => {
    const b = await postgres()
    const other = b.replica()
    const agents = Array.from({ length: 5 }, (_, i) => `spiffe://example.org/agent/tpm_devid/d${i}`)
    for (let round = 0; round < 5; round++) {
      const ids = Array.from({ length: 40 }, (_, i) => `d${round}-${i}`)
      const settle = (l: AnswerLedger, id: string, i: number) =>
        l.settle({ claim: claim(id), record: { ...record(i), spiffeId: agents[i % agents.length]! } })
      const results = await Promise.all([
        ...ids.map((id, i) => settle(b.ledger, id, i)),
        ...ids
          .map((id, i) => [id, i] as const)
          .reverse()
          .map(([id, i]) => settle(other, id, i)),
      ])
      expect(results.filter((r) => r.claimed)).toHaveLength(40)
      expect(results.every((r) => !r.claimed || r.recorded === 'recorded')).toBe(true)
    }
    for (const a of agents) expect((await b.agent(a))?.attestations).toBe(40)
    await b.close()
  })

  it('600 settlements in one turn (two statements): every one claimed once, the agent counted 600 times', async () => {
    const b = await postgres()
    const results = await Promise.all(Array.from({ length: 600 }, (_, i) => b.ledger.settle({ claim: claim(`n${i}`), record: record(i) })))
    expect(results.every((r) => r.claimed && r.recorded === 'recorded')).toBe(true)
    expect(await b.agent()).toMatchObject({ attestations: 600 })
    await b.close()
  })
})

for (const writerThread of [false, true]) {
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
    o.db.close()
  })
}
