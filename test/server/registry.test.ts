import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openSqliteWasm } from '../../server/entry/sqlite-wasm.ts'
import { AgentRegistry } from '../../server/registry/registry.ts'
import type { SqlDatabase } from '../../server/registry/sql.ts'
import { backends } from '../support/registry-backends.ts'

describe.each(backends())('agent registry on $name', (backend) => {
  beforeAll(async () => {
    if (!backend.missing) await backend.setup()
  })
  afterAll(() => backend.teardown())
  const rec = (id: string, at: number) => ({ spiffeId: id, attestorType: 'tpm_devid', attributes: {}, at })

  it.skipIf(backend.missing)('records attestations (first kept, last and count updated), bans, and survives reopening', async () => {
    const where = await backend.fresh()
    const r1 = await backend.open(where)
    await r1.recordAttestation({
      spiffeId: 'spiffe://td/a',
      attestorType: 'tpm_devid',
      attributes: { k: 'v1' },
      at: 1000,
      svidSerial: '01',
      svidExpiresAt: 5000,
    })
    await r1.recordAttestation({ spiffeId: 'spiffe://td/a', attestorType: 'tpm_devid', attributes: { k: 'v2' }, at: 2000 })
    await r1.recordAttestation({ spiffeId: 'spiffe://td/b', attestorType: 'tpm_ek', attributes: {}, at: 1500 })
    expect(await r1.setBanned('spiffe://td/b', true)).toBe(true)
    expect(await r1.setBanned('spiffe://td/none', true)).toBe(false)
    await r1.close()
    const r2 = await backend.open(where)
    expect(await r2.get('spiffe://td/a')).toEqual({
      spiffeId: 'spiffe://td/a',
      attestorType: 'tpm_devid',
      attributes: { k: 'v2' },
      firstAttestedAt: 1000,
      lastAttestedAt: 2000,
      attestations: 2,
      banned: false,
      svidSerial: null,
      svidExpiresAt: null,
      selectors: [],
    })
    expect(await r2.get('spiffe://td/none')).toBeUndefined()
    expect(await r2.isBanned('spiffe://td/b')).toBe(true)
    // a re-attestation keeps the ban
    await r2.recordAttestation({ spiffeId: 'spiffe://td/b', attestorType: 'tpm_ek', attributes: {}, at: 3000 })
    expect(await r2.isBanned('spiffe://td/b')).toBe(true)
    expect(await r2.setBanned('spiffe://td/b', false)).toBe(true)
    expect((await r2.list()).map((a) => [a.spiffeId, a.banned])).toEqual([
      ['spiffe://td/a', false],
      ['spiffe://td/b', false],
    ])
    expect(r2.ping()).toBe(true)
    await r2.close()
    expect(r2.ping()).toBe(false)
  })

  it.skipIf(backend.missing)(
    'commits a batch, refusing a banned agent inside it; a ban through one handle refuses on another',
    async () => {
      const where = await backend.fresh()
      const a = await backend.open(where)
      const b = await backend.open(where)
      await a.commitAttestation(rec('spiffe://td/banned', 1))
      expect(await b.setBanned('spiffe://td/banned', true)).toBe(true)
      const outcomes = await Promise.all([
        a.commitAttestation(rec('spiffe://td/banned', 5)),
        a.commitAttestation(rec('spiffe://td/ok', 5)),
        a.commitAttestation(rec('spiffe://td/ok', 6)),
      ])
      expect(outcomes).toEqual(['banned', 'recorded', 'recorded'])
      expect(await b.get('spiffe://td/banned')).toMatchObject({ attestations: 1, lastAttestedAt: 1, banned: true })
      expect(await b.get('spiffe://td/ok')).toMatchObject({ attestations: 2, firstAttestedAt: 5, lastAttestedAt: 6 })
      await a.close()
      await b.close()
    },
  )

  it.skipIf(backend.missing)(
    'two handles commit batches of the same agents in opposite orders at once: no deadlock, every record counted once',
    async () => {
      const where = await backend.fresh()
      const a = await backend.open(where)
      const b = await backend.open(where)
      const ids = Array.from({ length: 60 }, (_, i) => `spiffe://td/agent-${String(i).padStart(2, '0')}`)
      const outcomes = await Promise.all([
        ...ids.map((id) => a.commitAttestation(rec(id, 10))),
        ...[...ids].reverse().map((id) => b.commitAttestation(rec(id, 20))),
        // one agent three times in a batch: three attestations, the last record's time
        ...[30, 31, 32].map((at) => a.commitAttestation(rec('spiffe://td/thrice', at))),
      ])
      expect(outcomes.every((o) => o === 'recorded')).toBe(true)
      for (const id of [ids[0]!, ids[59]!]) expect(await a.get(id)).toMatchObject({ attestations: 2 })
      expect((await a.list()).reduce((n, r) => n + r.attestations, 0)).toBe(123)
      expect(await b.get('spiffe://td/thrice')).toMatchObject({ attestations: 3, firstAttestedAt: 30, lastAttestedAt: 32 })
      await a.close()
      await b.close()
    },
  )

  it.skipIf(backend.missing)('a batch of more agents than one statement holds: each recorded, the banned one refused', async () => {
    const where = await backend.fresh()
    const r = await backend.open(where)
    await r.commitAttestation(rec('spiffe://td/agent-0777', 1))
    expect(await r.setBanned('spiffe://td/agent-0777', true)).toBe(true)
    const ids = Array.from({ length: 1100 }, (_, i) => `spiffe://td/agent-${String(i).padStart(4, '0')}`)
    const outcomes = await Promise.all(ids.map((id) => r.commitAttestation(rec(id, 5))))
    expect(outcomes.filter((o) => o === 'banned')).toHaveLength(1)
    expect(outcomes[777]).toBe('banned')
    expect(await r.get('spiffe://td/agent-0777')).toMatchObject({ attestations: 1, lastAttestedAt: 1, banned: true })
    expect(await r.get('spiffe://td/agent-1099')).toMatchObject({ attestations: 1, firstAttestedAt: 5 })
    expect((await r.list()).length).toBe(1100)
    await r.close()
  })

  it.skipIf(backend.missing)('persistent sequences count from 1 and never repeat across handles', async () => {
    const where = await backend.fresh()
    const a = await backend.open(where)
    const b = await backend.open(where)
    expect(await a.sequence('s')).toBe(0)
    const got = [await a.nextSequence('s'), await b.nextSequence('s'), await a.nextSequence('s')]
    expect(got).toEqual([1, 2, 3])
    expect(await b.sequence('s')).toBe(3)
    expect(await a.sequence('other')).toBe(0)
    await a.close()
    await b.close()
  })
})

describe('node-sqlite3-wasm lock directory', () => {
  it('a stale lock left by a process killed inside a statement is cleared (on open and mid-run); a fresh one is waited for', async () => {
    const { mkdirSync, utimesSync, existsSync } = await import('node:fs')
    const path = join(mkdtempSync(join(tmpdir(), 'vouch-reg-')), 'agents.db')
    const r = new AgentRegistry(openSqliteWasm(path, { busyTimeoutMs: 200, staleLockMs: 5_000 }))
    r.recordAttestation({ spiffeId: 'spiffe://td/a', attestorType: 'tpm_devid', attributes: {}, at: 1 })
    const old = new Date(Date.now() - 60_000)
    // a fresh lock (another process inside a statement): this one waits, then reports busy
    mkdirSync(`${path}.lock`)
    expect(() => r.list()).toThrow(/database is locked/)
    // the same lock, now stale: cleared and the statement goes through
    utimesSync(`${path}.lock`, old, old)
    expect(r.list()).toHaveLength(1)
    expect(existsSync(`${path}.lock`)).toBe(false)
    r.close()
    // stale at open
    mkdirSync(`${path}.lock`)
    utimesSync(`${path}.lock`, old, old)
    const r2 = new AgentRegistry(openSqliteWasm(path))
    expect(r2.get('spiffe://td/a')?.attestations).toBe(1)
    r2.close()
  })
})

describe('agent registry group commit', () => {
  const open = () => {
    const db = openSqliteWasm(join(mkdtempSync(join(tmpdir(), 'vouch-reg-')), 'agents.db'))
    const log: string[] = []
    let failOn: string | undefined
    const counting: SqlDatabase = {
      ...db,
      exec: (sql) => {
        log.push(sql.trim().split(/\s+/)[0]!)
        db.exec(sql)
      },
      run: (sql, params) => {
        if (failOn && params?.[0] === failOn) throw new Error('disk full')
        db.run(sql, params)
      },
    }
    return { registry: new AgentRegistry(counting), log, failOn: (id: string) => (failOn = id) }
  }
  const rec = (id: string, at: number) => ({ spiffeId: id, attestorType: 'tpm_devid', attributes: {}, at })

  it('records that arrive together share one transaction, and each resolves only after COMMIT', async () => {
    const { registry, log } = open()
    log.length = 0
    let resolved = 0
    const all = Promise.all([1, 2, 3, 4, 5].map((i) => registry.commitAttestation(rec(`spiffe://td/${i}`, i)).then((o) => (resolved++, o))))
    expect(resolved).toBe(0)
    expect(registry.list()).toHaveLength(0) // nothing written before the batch commits
    expect(await all).toEqual(['recorded', 'recorded', 'recorded', 'recorded', 'recorded'])
    expect(log).toEqual(['BEGIN', 'COMMIT'])
    expect(registry.list().map((a) => a.spiffeId)).toEqual([1, 2, 3, 4, 5].map((i) => `spiffe://td/${i}`))
    await registry.commitAttestation(rec('spiffe://td/1', 9))
    expect(log).toEqual(['BEGIN', 'COMMIT', 'BEGIN', 'COMMIT'])
    expect(registry.get('spiffe://td/1')?.attestations).toBe(2)
  })

  it('a banned agent is checked inside the batch: nothing is written for it, the others are recorded', async () => {
    const { registry } = open()
    await registry.commitAttestation(rec('spiffe://td/banned', 1))
    registry.setBanned('spiffe://td/banned', true)
    const outcomes = await Promise.all([
      registry.commitAttestation(rec('spiffe://td/banned', 5)),
      registry.commitAttestation(rec('spiffe://td/ok', 5)),
    ])
    expect(outcomes).toEqual(['banned', 'recorded'])
    expect(registry.get('spiffe://td/banned')).toMatchObject({ attestations: 1, lastAttestedAt: 1, banned: true })
    expect(registry.get('spiffe://td/ok')?.attestations).toBe(1)
  })

  it('a failing record rolls back its whole batch and rejects every caller in it; the next batch is unaffected', async () => {
    const { registry, log, failOn } = open()
    failOn('spiffe://td/bad')
    log.length = 0
    const results = await Promise.allSettled([
      registry.commitAttestation(rec('spiffe://td/a', 1)),
      registry.commitAttestation(rec('spiffe://td/bad', 1)),
    ])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected'])
    expect(log).toEqual(['BEGIN', 'ROLLBACK'])
    expect(registry.list()).toHaveLength(0)
    await registry.commitAttestation(rec('spiffe://td/a', 2))
    expect(registry.get('spiffe://td/a')?.lastAttestedAt).toBe(2)
  })
})
