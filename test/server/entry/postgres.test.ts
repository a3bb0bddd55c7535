/**
 * The PostgreSQL driver's bounded waits (server/entry/postgres.ts): a server that accepts the TCP
 * connection and never answers (a hung database, a partition after connect) fails a query within
 * the connect timeout instead of holding it forever; a statement that runs past statement_timeout
 * is cancelled by a real PostgreSQL, and the pool keeps serving. Prepared statements: named per
 * text on their connection, at most MAX_PREPARED_STATEMENTS texts.
 */
import { createServer, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_PREPARED_STATEMENTS, openPostgres } from '../../../server/entry/postgres.ts'
import { postgresMissing, startPostgres, type TestPostgres } from '../../support/postgres.ts'

describe('PostgreSQL driver: bounded waits', () => {
  it('a server that accepts and never answers: the query fails within the connect timeout', async () => {
    const sockets: Socket[] = []
    const silent = createServer((s) => void sockets.push(s))
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r))
    const port = (silent.address() as { port: number }).port
    const db = await openPostgres(`postgres://vouch@127.0.0.1:${port}/vouch`, { connectTimeoutMs: 300 })
    const started = performance.now()
    await expect(db.get('SELECT 1 AS ok')).rejects.toThrow(/timeout/i)
    expect(performance.now() - started).toBeLessThan(5_000)
    await db.close().catch(() => undefined)
    for (const s of sockets) s.destroy()
    silent.close()
  })
})

const missing = postgresMissing()
describe.skipIf(missing !== undefined)('PostgreSQL driver against a real server', () => {
  let pg: TestPostgres | undefined
  beforeAll(async () => {
    pg = await startPostgres()
  }, 120_000)
  afterAll(() => pg?.stop())

  it('a statement past statement_timeout is cancelled by the server; the next query on the pool works', async () => {
    const db = await openPostgres(await pg!.createDatabase('vouch_timeouts'), { max: 1, statementTimeoutMs: 200 })
    await expect(db.get('SELECT pg_sleep(5)')).rejects.toThrow(/statement timeout/)
    expect(await db.get('SELECT 1 AS ok')).toEqual({ ok: 1 })
    await db.close()
  })

  it('a statement asked to be prepared is kept by name on its connection, gives the same rows, and at most 64 texts are named', async () => {
    const db = await openPostgres(await pg!.createDatabase(`vouch_prepared_${process.pid}`))
    try {
      await db.exec('CREATE TABLE t (id TEXT PRIMARY KEY, n BIGINT NOT NULL)')
      const insert = (rows: number, from: number, prepare: boolean) =>
        db.transaction(async (tx) => {
          const got = await tx.all(
            `INSERT INTO t (id, n) VALUES ${Array.from({ length: rows }, () => '(?, ?)').join(', ')} ON CONFLICT (id) DO NOTHING RETURNING id`,
            Array.from({ length: rows }, (_, i) => [`k${from + i}`, from + i]).flat(),
            { prepare },
          )
          const prepared = await tx.all('SELECT name, statement FROM pg_prepared_statements ORDER BY name')
          return { got: got.map((r) => r.id), prepared }
        })
      const first = await insert(2, 0, true)
      expect(first.got).toEqual(['k0', 'k1'])
      expect(first.prepared).toEqual([
        { name: 'vouch_1', statement: 'INSERT INTO t (id, n) VALUES ($1, $2), ($3, $4) ON CONFLICT (id) DO NOTHING RETURNING id' },
      ])
      // the same text again: the same name, and a conflict still answers by its rows
      expect((await insert(2, 1, true)).got).toEqual(['k2'])
      // unnamed: the same rows, nothing more prepared
      const unnamed = await insert(3, 10, false)
      expect(unnamed.got).toEqual(['k10', 'k11', 'k12'])
      expect(unnamed.prepared.map((p) => p.name)).toEqual(['vouch_1'])
      // 80 more texts: each answers; only the first 64 texts ever get a name
      for (let rows = 3; rows < 83; rows++) expect((await insert(rows, 1000 * rows, true)).got).toHaveLength(rows)
      const all = await insert(1, 999_999, true)
      expect(all.prepared.length).toBeLessThanOrEqual(MAX_PREPARED_STATEMENTS)
      expect(new Set(all.prepared.map((p) => p.name)).size).toBe(all.prepared.length)
      expect(Number((await db.get('SELECT COUNT(*) AS n FROM t'))?.n)).toBe(2 + 1 + 3 + 3400 + 1)
    } finally {
      await db.close()
    }
  })
})
