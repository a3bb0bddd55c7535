import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_PREPARED_STATEMENTS, openPostgres } from '../../../server/entry/postgres.ts'
import { postgresMissing, startPostgres, type TestPostgres } from '../../support/postgres.ts'

describe.skipIf(postgresMissing() !== undefined)('PostgreSQL driver: prepared statements', () => {
  let pg: TestPostgres
  beforeAll(async () => {
    pg = await startPostgres()
  }, 120_000)
  afterAll(() => pg?.stop())

  it('a statement asked to be prepared is kept by name on its connection, gives the same rows, and at most 64 texts are named', async () => {
    const db = await openPostgres(await pg.createDatabase(`vouch_prepared_${process.pid}`))
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
