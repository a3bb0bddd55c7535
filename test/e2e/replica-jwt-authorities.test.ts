/**
 * JWT-SVID authorities across replicas, end to end on one real PostgreSQL: two Node servers (A and
 * B, each its own data dir and so its own JWT key, one shared `database:` and CA). A workload's
 * JWT-SVID minted by A (POST /v1/svid/jwt, the agent's SVID as client certificate) verifies with
 * vouch's verifyJwtSvid against B's bundle, fetched over TLS by the agent's own client, and against
 * B's OIDC JWKS (and with jose). Once A stops (its key retired) and a token's longest lifetime has
 * passed on the clock, A's key is gone from B's bundle and JWKS and the token is refused there; A
 * restarted with the same key publishes it again, still one row. A server on SQLite serves its own
 * key only. Skipped, with the reason, where PostgreSQL cannot run.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WorkloadServerClient } from '../../agent/workload/server-client.ts'
import { withPlatform } from '../../core/platform.ts'
import { parseJwtBundle } from '../../core/svid/jwt-bundle.ts'
import { verifyJwtSvid } from '../../core/svid/jwt-svid.ts'
import { parseSpiffeBundle } from '../../core/svid/spiffe-bundle.ts'
import { createNodePlatform } from '../../runtimes/node/index.ts'
import { ServerCa } from '../../server/ca/authority.ts'
import { checkEntryInput } from '../../server/entries/validate.ts'
import { loadConfigFile } from '../../server/entry/bootstrap.ts'
import { openPostgres } from '../../server/entry/postgres.ts'
import { type RunningServer, startNodeServer } from '../../server/entry/node.ts'
import { JWT_AUTHORITIES_MAX_AGE_MS, JWT_AUTHORITY_LEASE_MS, MAX_JWT_SVID_TTL_MS } from '../../server/registry/jwt-authorities.ts'
import type { AsyncSqlDatabase } from '../../server/registry/sql.ts'
import { postgresMissing, startPostgres, type TestPostgres } from '../support/postgres.ts'
import { opensslCsr } from './http-agent.ts'
import { caFetch } from './spawn-server.ts'
import { writeServerFiles } from './setup.ts'

const missing = postgresMissing()
const AGENT = 'spiffe://example.org/agent/jwt-test'
const WORKLOAD = 'spiffe://example.org/workload/jwt'
const AUDIENCE = 'https://relying-party.example'

let pg: TestPostgres | undefined
let db: AsyncSqlDatabase | undefined
let dir: string
let caFile: string
let url: string
const clock = { offset: 0 }
const now = () => Date.now() + clock.offset
const running: RunningServer[] = []
let filesA: ReturnType<typeof writeServerFiles>
let filesB: ReturnType<typeof writeServerFiles>
let a: RunningServer
let b: RunningServer
let entryId: string | undefined

const start = async (configPath: string) => {
  const s = await startNodeServer(loadConfigFile(configPath, {}), {
    platform: withPlatform({ now }, createNodePlatform()),
    write: () => {},
    // the agent's SVID as the mTLS client certificate, given in process through a test header
    clientCertificates: (c) => {
      const h = c.req.header('x-test-client-cert')
      return h ? [new Uint8Array(Buffer.from(h, 'base64'))] : undefined
    },
  })
  running.push(s)
  return s
}

/** A workload JWT-SVID from `s`'s own route: the agent registered (shared), an entry on `s`. */
async function mintJwtSvid(s: RunningServer): Promise<string> {
  const svid = await s.server.ca.issueSvid(opensslCsr().spki, AGENT, 3_600_000)
  await s.server.registry.recordAttestation({
    spiffeId: AGENT,
    attestorType: 'tpm_devid',
    attributes: {},
    at: now(),
    svidSerial: svid.serialHex,
    svidExpiresAt: svid.notAfter,
    selectors: [],
  })
  // one entry, in the shared database: created through the first replica asked, served by every one
  if (!entryId) {
    const input = checkEntryInput({ spiffeId: WORKLOAD, parentId: AGENT, selectors: ['unix:uid:1'] }, 'example.org')
    entryId = (await s.server.entries.create(input, 0)).id
  }
  const id = entryId
  const res = await s.server.app.request('/v1/svid/jwt', {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-test-client-cert': Buffer.from(svid.der).toString('base64') },
    body: JSON.stringify({ entryId: id, audience: AUDIENCE }),
  })
  expect(res.status).toBe(200)
  return ((await res.json()) as { token: string }).token
}

/** B's bundle as the agent fetches it: over TLS to the server CA, with the agent's workload client */
async function agentBundle(s: RunningServer) {
  const text = await new WorkloadServerClient(s.url).getText(
    { spiffeId: AGENT, certificatePem: '', privateKeyPem: '', serverCaPem: readFileSync(caFile, 'utf8') },
    '/v1/bundle',
  )
  return parseSpiffeBundle('example.org', text)
}

async function jwks(s: RunningServer): Promise<string> {
  return (await caFetch(readFileSync(caFile, 'utf8'))(`${s.url}/keys`)).text()
}

const kidOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString()) as { kid: string }).kid

describe.skipIf(missing)('e2e (Node): JWT-SVID authorities shared by two replicas on PostgreSQL', () => {
  beforeAll(async () => {
    pg = await startPostgres()
    url = await pg.createDatabase('vouch_jwt_e2e')
    db = await openPostgres(url, { max: 1 })
    dir = mkdtempSync(join(tmpdir(), 'vouch-jwt-replicas-'))
    // one CA for both replicas (as section 9 of docs/deploy.md has it), so one trust bundle reaches both
    const { files } = await ServerCa.create('example.org', createNodePlatform(), globalThis.crypto.subtle)
    caFile = join(dir, 'ca.pem')
    writeFileSync(caFile, files.certificatePem)
    writeFileSync(join(dir, 'ca.key'), files.privateKeyPem, { mode: 0o600 })
    const extra = `database: ${url}\nca: { certFile: ${caFile}, keyFile: ${join(dir, 'ca.key')} }\n`
    filesA = writeServerFiles({ tls: true, extra })
    filesB = writeServerFiles({ tls: true, extra })
    a = await start(filesA.configPath)
    b = await start(filesB.configPath)
  }, 120_000)
  afterAll(async () => {
    await Promise.all(running.map((s) => s.close()))
    await db?.close()
    pg?.stop()
  })

  it("a JWT-SVID minted by A verifies against B's bundle (fetched by the agent's client) and B's JWKS", async () => {
    expect(a.server.jwtAuthority.kid).not.toBe(b.server.jwtAuthority.kid)
    const token = await mintJwtSvid(a)
    expect(kidOf(token)).toBe(a.server.jwtAuthority.kid)
    const bundle = await agentBundle(b)
    expect([...bundle.jwtAuthorities.keys()]).toEqual([b.server.jwtAuthority.kid, a.server.jwtAuthority.kid])
    const viaBundle = await verifyJwtSvid(token, bundle, { audience: AUDIENCE })
    expect(viaBundle.id.toString()).toBe(WORKLOAD)
    const keys = await jwks(b)
    const viaJwks = await verifyJwtSvid(token, parseJwtBundle('example.org', keys), { audience: AUDIENCE })
    expect(viaJwks.id.toString()).toBe(WORKLOAD)
    // and with a third party's verifier, as an OIDC relying party would
    const { payload } = await jwtVerify(token, createLocalJWKSet(JSON.parse(keys)), { audience: AUDIENCE })
    expect(payload.sub).toBe(WORKLOAD)
    // the other way round once A's list is older than its cache age
    const fromB = await mintJwtSvid(b)
    clock.offset += JWT_AUTHORITIES_MAX_AGE_MS
    expect((await verifyJwtSvid(fromB, await agentBundle(a), { audience: AUDIENCE })).id.toString()).toBe(WORKLOAD)
    // one row per replica
    expect((await db!.all('SELECT kid FROM jwt_authorities')).map((r) => r.kid).sort()).toEqual(
      [a.server.jwtAuthority.kid, b.server.jwtAuthority.kid].sort(),
    )
  })

  it('A stops: its key is retired, leaves B once a token it signed cannot live any more, and comes back with A', async () => {
    const token = await mintJwtSvid(a)
    const kidA = a.server.jwtAuthority.kid
    const signedAt = now()
    await a.close()
    running.splice(running.indexOf(a), 1)
    // the retirement lands after close (the stopping server's last write)
    const deadline = Date.now() + 10_000
    let expiresAt = Number.POSITIVE_INFINITY
    while (Date.now() < deadline) {
      expiresAt = Number((await db!.get('SELECT expires_at FROM jwt_authorities WHERE kid = ?', [kidA]))?.expires_at)
      if (expiresAt < signedAt + JWT_AUTHORITY_LEASE_MS - 60_000) break // shortened from the lease
      await new Promise((r) => setTimeout(r, 20))
    }
    expect(expiresAt).toBeGreaterThanOrEqual(signedAt + MAX_JWT_SVID_TTL_MS)
    expect(expiresAt).toBeLessThan(signedAt + MAX_JWT_SVID_TTL_MS + 60_000)
    // until then B still serves it
    clock.offset += JWT_AUTHORITIES_MAX_AGE_MS
    expect(await verifyJwtSvid(token, await agentBundle(b), { audience: AUDIENCE })).toBeDefined()
    // a token's longest lifetime later: gone from B's bundle and JWKS, the token refused there
    clock.offset = expiresAt - Date.now() + 1000
    const bundle = await agentBundle(b)
    expect([...bundle.jwtAuthorities.keys()]).toEqual([b.server.jwtAuthority.kid])
    await expect(verifyJwtSvid(token, bundle, { audience: AUDIENCE, at: signedAt })).rejects.toThrow(
      `no jwt authority "${kidA}" in the bundle of trust domain "example.org"`,
    )
    const keys = JSON.parse(await jwks(b)) as { keys: { kid: string }[] }
    expect(keys.keys.map((k) => k.kid)).toEqual([b.server.jwtAuthority.kid])
    // B's next renewal purges the expired row
    clock.offset += 3_600_000
    await b.server.maintain()
    expect((await db!.all('SELECT kid FROM jwt_authorities')).map((r) => r.kid)).toEqual([b.server.jwtAuthority.kid])
    // A restarted on its data dir: the same key, published again
    a = await start(filesA.configPath)
    expect(a.server.jwtAuthority.kid).toBe(kidA)
    clock.offset += JWT_AUTHORITIES_MAX_AGE_MS
    expect([...(await agentBundle(b)).jwtAuthorities.keys()]).toEqual([b.server.jwtAuthority.kid, kidA])
    expect(await db!.all('SELECT kid FROM jwt_authorities')).toHaveLength(2)
  }, 30_000)

  it('a server on SQLite serves its own JWT key only, as before', async () => {
    const files = writeServerFiles({ tls: false })
    const s = await startNodeServer(loadConfigFile(files.configPath, {}), { write: () => {} })
    running.push(s)
    const bundle = parseSpiffeBundle('example.org', await (await s.server.app.request('/v1/bundle')).text())
    expect([...bundle.jwtAuthorities.keys()]).toEqual([s.server.jwtAuthority.kid])
    const keys = JSON.parse(await (await s.server.app.request('/keys')).text()) as { keys: { kid: string }[] }
    expect(keys.keys.map((k) => k.kid)).toEqual([s.server.jwtAuthority.kid])
  })
})
