/**
 * The PostgreSQL driver's bounded waits (server/entry/postgres.ts): a server that accepts the TCP
 * connection and never answers (a hung database, a partition after connect) fails a query within
 * the connect timeout instead of holding it forever; a statement that runs past statement_timeout
 * is cancelled by a real PostgreSQL, and the pool keeps serving.
 */
import { createServer, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgres } from '../../../server/entry/postgres.ts'
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
})
