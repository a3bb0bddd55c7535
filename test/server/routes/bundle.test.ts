/**
 * GET /v1/bundle through whole servers (bootstrap): the JWT authorities it lists and its
 * spiffe_sequence when a replica's key expires. On PostgreSQL (a real server, skipped with the
 * reason where it cannot run) three replicas share one database and one CA; one stops renewing,
 * and once its lease is over on the servers' clock the others' bundles leave its key out under one
 * sequence, higher than before. On SQLite a server lists its own key only, which does not expire.
 */
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNodePlatform } from '../../../runtimes/node/index.ts'
import { parseServerConfig } from '../../../server/config.ts'
import { type Bootstrapped, bootstrap } from '../../../server/entry/bootstrap.ts'
import { openSqliteWasm } from '../../../server/entry/sqlite-wasm.ts'
import { JWT_AUTHORITIES_MAX_AGE_MS, JWT_AUTHORITY_LEASE_MS, JWT_AUTHORITY_RENEW_MS } from '../../../server/registry/jwt-authorities.ts'
import { policyDocument } from '../../e2e/setup.ts'
import { postgresMissing, startPostgres, type TestPostgres } from '../../support/postgres.ts'

const servers: Bootstrapped[] = []
/** added to the servers' clock (ms) */
let skew = 0

/** a server on `database` (or SQLite), its CA copied from `caFrom`'s data dir when given */
async function serve(database?: string, caFrom?: string): Promise<Bootstrapped & { dataDir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-bundle-route-'))
  const dataDir = join(dir, 'data')
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(policyDocument()))
  if (caFrom) {
    mkdirSync(join(dataDir, 'ca'), { recursive: true })
    for (const f of ['ca.pem', 'ca.key']) copyFileSync(join(caFrom, 'ca', f), join(dataDir, 'ca', f))
  }
  const config = parseServerConfig(
    `trustDomain: example.org\nlisten: "127.0.0.1:0"\ndataDir: ${dataDir}\npolicy: ${join(dir, 'policy.json')}\ntls: false\n${
      database ? `database: ${database}\n` : ''
    }`,
    {},
  )
  const server = await bootstrap(config, {
    platform: createNodePlatform({ now: () => Date.now() + skew }),
    openDatabase: openSqliteWasm,
    write: () => {},
    env: {},
  })
  servers.push(server)
  return Object.assign(server, { dataDir })
}

/** the bundle a server serves: its JWT authorities' kids (sorted) and its sequence */
async function bundle(server: Bootstrapped): Promise<{ kids: string[]; sequence: number }> {
  const res = await server.app.request('/v1/bundle')
  expect(res.status).toBe(200)
  const doc = (await res.json()) as { keys: { use: string; kid?: string }[]; spiffe_sequence: number }
  return { kids: doc.keys.flatMap((k) => (k.use === 'jwt-svid' ? [k.kid!] : [])).sort(), sequence: doc.spiffe_sequence }
}

afterAll(() => {
  for (const s of servers) s.close()
})

const missing = postgresMissing()

describe.skipIf(missing !== undefined)('the bundle of replicas on PostgreSQL when a JWT key expires', () => {
  let pg: TestPostgres | undefined
  beforeAll(async () => {
    pg = await startPostgres()
  }, 120_000)
  afterAll(() => pg?.stop())

  it('the expired key leaves both live replicas’ bundles, under one sequence higher than before', async () => {
    const url = await pg!.createDatabase(`vouch_bundle_${process.pid}`)
    const a = await serve(url)
    const b = await serve(url, a.dataDir)
    const c = await serve(url, a.dataDir)
    const kidOf = (s: Bootstrapped) => s.jwtAuthority.kid
    skew += JWT_AUTHORITIES_MAX_AGE_MS
    const all = [kidOf(a), kidOf(b), kidOf(c)].sort()
    const [fromA, fromB] = [await bundle(a), await bundle(b)]
    expect(fromA.kids).toEqual(all)
    expect(fromB).toEqual(fromA)
    // a and b renew their publications (maintenance); c has stopped renewing
    skew += JWT_AUTHORITY_LEASE_MS - JWT_AUTHORITY_RENEW_MS
    await a.maintain()
    await b.maintain()
    expect((await bundle(a)).kids).toEqual(all)
    // c's lease ends
    skew += JWT_AUTHORITY_RENEW_MS
    const afterA = await bundle(a)
    expect(afterA.kids).toEqual([kidOf(a), kidOf(b)].sort())
    expect(afterA.sequence).toBeGreaterThan(fromA.sequence)
    const afterB = await bundle(b)
    expect(afterB).toEqual(afterA)
    // and once both have read the list again
    skew += JWT_AUTHORITIES_MAX_AGE_MS
    expect(await bundle(b)).toEqual(afterA)
    expect(await bundle(a)).toEqual(afterA)
  }, 60_000)
})

describe('the bundle of a server on SQLite', () => {
  it('lists its own JWT key only, which does not expire: the same key and sequence past any lease', async () => {
    const s = await serve()
    const first = await bundle(s)
    expect(first.kids).toEqual([s.jwtAuthority.kid])
    skew += 2 * JWT_AUTHORITY_LEASE_MS
    expect(await bundle(s)).toEqual(first)
  })
})
