/**
 * Registration entries shared by replicas: two servers bootstrapped from their own configs (own
 * data dirs; the same CA files, session keys and PostgreSQL `database:`), driven in process. The
 * agent's mTLS client certificate comes from a test-only header through the bootstrap's
 * clientCertificates hook, as in test/server/routes/workload.test.ts (the Node listener's own hook
 * is covered in test/e2e/workload-svid.test.ts). An entry made through A (`vouch entry create`
 * with A's config, or A's store) is listed and issued for by B's agent-facing routes; a deletion
 * through B is seen by A; creations of one entry through A and B at once give one entry. An entry
 * A kept in its own agents.db from before entries were shared is moved to the database at its start.
 */
import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runMain } from '../../cli/run-main.ts'
import { isVerifyError } from '../../../core/errors.ts'
import { parseSpiffeBundle } from '../../../core/svid/spiffe-bundle.ts'
import { verifyX509Svid } from '../../../core/svid/x509-svid.ts'
import { createNodePlatform } from '../../../runtimes/node/index.ts'
import { ServerCa } from '../../../server/ca/authority.ts'
import { checkEntryInput, type RegistrationEntry } from '../../../server/entries/validate.ts'
import { SqliteEntryStore } from '../../../server/registry/entries.ts'
import { type Bootstrapped, bootstrap, loadConfigFile } from '../../../server/entry/bootstrap.ts'
import { openSqliteWasm } from '../../../server/entry/sqlite-wasm.ts'
import { opensslCsr } from '../../e2e/http-agent.ts'
import { recordAttestedAgent } from '../attested-agent.ts'
import { TRUST_DOMAIN, writeServerFiles } from '../../e2e/setup.ts'
import { postgresMissing, startPostgres, type TestPostgres } from '../../support/postgres.ts'

const missing = postgresMissing()
const AGENT = 'spiffe://example.org/agent/replicated'
const platform = createNodePlatform()

let pg: TestPostgres | undefined
let a: Bootstrapped | undefined
let b: Bootstrapped | undefined
let files: { a: ReturnType<typeof writeServerFiles>; b: ReturnType<typeof writeServerFiles> }
let agentCert = ''
let legacy: RegistrationEntry

const start = (configPath: string) =>
  bootstrap(loadConfigFile(configPath, {}), {
    platform,
    openDatabase: openSqliteWasm,
    write: () => {},
    env: {},
    clientCertificates: (c) => {
      const h = c.req.header('x-test-client-cert')
      return h ? [new Uint8Array(Buffer.from(h, 'base64'))] : undefined
    },
  })

/** A request from the agent (its SVID as the client certificate) to a replica's app. */
async function call(server: Bootstrapped, method: 'GET' | 'POST', path: string, body?: unknown) {
  const r = await server.app.request(path, {
    method,
    headers: { 'x-test-client-cert': agentCert, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  return { status: r.status, body: (await r.json()) as Record<string, unknown> }
}

const listedIds = async (server: Bootstrapped) =>
  ((await call(server, 'GET', '/v1/entries')).body.entries as { id: string }[]).map((e) => e.id).sort()

describe.skipIf(missing)('registration entries on one PostgreSQL, through two bootstrapped replicas', () => {
  beforeAll(async () => {
    pg = await startPostgres()
    const url = await pg.createDatabase('vouch_entries_replicas')
    const shared = mkdtempSync(join(tmpdir(), 'vouch-replicas-'))
    const { files: caFiles } = await ServerCa.create(TRUST_DOMAIN, platform, crypto.subtle)
    writeFileSync(join(shared, 'ca.pem'), caFiles.certificatePem)
    writeFileSync(join(shared, 'ca.key'), caFiles.privateKeyPem, { mode: 0o600 })
    writeFileSync(join(shared, 'keys.yaml'), `- { id: k1, key: ${randomBytes(32).toString('base64')}, seal: true }\n`, { mode: 0o600 })
    const extra =
      `database: ${url}\nsessionKeys: ${join(shared, 'keys.yaml')}\n` +
      `ca:\n  certFile: ${join(shared, 'ca.pem')}\n  keyFile: ${join(shared, 'ca.key')}\n`
    files = { a: writeServerFiles({ extra }), b: writeServerFiles({ extra }) }
    // A ran before entries were shared: one entry in its own agents.db, moved at its start
    mkdirSync(files.a.dataDir, { recursive: true })
    const old = openSqliteWasm(join(files.a.dataDir, 'agents.db'))
    legacy = new SqliteEntryStore(old).create(
      checkEntryInput({ spiffeId: 'spiffe://example.org/legacy', parentId: AGENT, selectors: ['unix:uid:9'] }, TRUST_DOMAIN),
      1234,
    )
    old.close()
    // A and B start together: the migrations (entries included) run once, under the advisory lock
    ;[a, b] = await Promise.all([start(files.a.configPath), start(files.b.configPath)])
    // an attested agent, as the answer route records it (in the shared registry), with its SVID
    agentCert = await recordAttestedAgent(a.ca, a.registry, AGENT, ['tpm_devid:subject:cn:replicated'])
  }, 120_000)
  afterAll(async () => {
    a?.close()
    b?.close()
    // the registries close their pools in the background: let them finish before PostgreSQL stops
    await new Promise((r) => setTimeout(r, 200))
    pg?.stop()
  })

  it("no replica keeps entries of its own: B opened no agents.db; the entry in A's was moved to the database and B serves it", async () => {
    expect(existsSync(join(files.b.dataDir, 'agents.db'))).toBe(false)
    expect(await call(b!, 'GET', '/v1/entries')).toMatchObject({
      status: 200,
      body: { entries: [{ id: legacy.id, spiffeId: legacy.spiffeId }] },
    })
    expect(await b!.entries.get(legacy.id)).toEqual(legacy)
    const old = openSqliteWasm(join(files.a.dataDir, 'agents.db'))
    expect(old.all('SELECT id FROM entries')).toEqual([])
    old.close()
    expect(await b!.entries.delete(legacy.id)).toBe(true)
  })

  it("an entry created with A's config is listed by B and B issues its X.509-SVID and JWT-SVID; deleted with B's config, A no longer serves it", async () => {
    const created = await runMain([
      'entry',
      'create',
      '--server-config',
      files.a.configPath,
      '--output',
      'json',
      '--spiffe-id',
      'spiffe://example.org/web',
      '--parent',
      AGENT,
      '--selector',
      'unix:uid:1000',
      '--dns',
      'web.example.org',
    ])
    expect(created.err).toEqual([])
    expect(created.code).toBe(0)
    const id = (JSON.parse(created.out[0]!) as { id: string }).id

    expect(await call(b!, 'GET', '/v1/entries')).toEqual({
      status: 200,
      body: {
        entries: [
          {
            id,
            spiffeId: 'spiffe://example.org/web',
            parentId: AGENT,
            parentSelectors: [],
            selectors: ['unix:uid:1000'],
            x509SvidTtl: null,
            jwtSvidTtl: null,
            dnsNames: ['web.example.org'],
          },
        ],
      },
    })
    const { csr } = opensslCsr()
    const x509 = await call(b!, 'POST', '/v1/svid/x509', { entryId: id, csr: Buffer.from(csr).toString('base64') })
    expect(x509.status, JSON.stringify(x509.body)).toBe(200)
    expect(x509.body).toMatchObject({ entryId: id, spiffeId: 'spiffe://example.org/web' })
    const der = (x509.body.svid as string[]).map((p) => new Uint8Array(Buffer.from(p.replace(/-----[^-]+-----|\s/g, ''), 'base64')))
    const bundle = parseSpiffeBundle(TRUST_DOMAIN, await (await b!.app.request('/v1/bundle')).text())
    expect((await verifyX509Svid(der, bundle, { platform })).id.toString()).toBe('spiffe://example.org/web')
    const jwt = await call(b!, 'POST', '/v1/svid/jwt', { entryId: id, audience: 'db' })
    expect(jwt.status, JSON.stringify(jwt.body)).toBe(200)
    expect(jwt.body.spiffeId).toBe('spiffe://example.org/web')

    // B's own store made one; `vouch entry list` with A's config shows both
    const fleet = await b!.entries.create(
      checkEntryInput(
        { spiffeId: 'spiffe://example.org/fleet', parentSelectors: ['tpm_devid:subject:cn:replicated'], selectors: ['unix:gid:7'] },
        TRUST_DOMAIN,
      ),
      Date.now(),
    )
    const listed = await runMain(['entry', 'list', '--server-config', files.a.configPath, '--output', 'json'])
    expect((JSON.parse(listed.out[0]!) as { id: string }[]).map((e) => e.id).sort()).toEqual([id, fleet.id].sort())
    expect(await listedIds(a!)).toEqual([id, fleet.id].sort())

    const deleted = await runMain(['entry', 'delete', '--server-config', files.b.configPath, id])
    expect(deleted).toEqual({ code: 0, out: [`deleted entry ${id}`], err: [] })
    expect(await listedIds(a!)).toEqual([fleet.id])
    const gone = await call(a!, 'POST', '/v1/svid/x509', { entryId: id, csr: Buffer.from(csr).toString('base64') })
    expect(gone).toEqual({ status: 404, body: { code: 'ERR_ENTRY_NOT_FOUND', message: `entryId: no entry "${id}"` } })
    expect(await a!.entries.delete(fleet.id)).toBe(true)
    expect(await listedIds(b!)).toEqual([])
  })

  it('the same entry created through A and B at once: exactly one succeeds, the other gets ERR_ENTRY_EXISTS', async () => {
    for (let round = 0; round < 4; round++) {
      const spec = checkEntryInput(
        { spiffeId: `spiffe://example.org/race/${round}`, parentId: AGENT, selectors: ['unix:uid:5'] },
        TRUST_DOMAIN,
      )
      const settled = await Promise.allSettled([a!.entries.create(spec, round), b!.entries.create(spec, round)])
      const won = settled.filter((s) => s.status === 'fulfilled')
      const lost = settled.filter((s) => s.status === 'rejected')
      expect(won).toHaveLength(1)
      expect(lost).toHaveLength(1)
      const reason = (lost[0] as PromiseRejectedResult).reason as unknown
      expect(isVerifyError(reason) && reason.code).toBe('ERR_ENTRY_EXISTS')
      expect((reason as Error).message).toBe(
        `entry ${(won[0] as PromiseFulfilledResult<{ id: string }>).value.id} has the same spiffeId, parent and selectors`,
      )
    }
    // and through `vouch entry create` with each replica's config at once
    const args = (config: string) => [
      'entry',
      'create',
      '--server-config',
      config,
      '--spiffe-id',
      'spiffe://example.org/race/cli',
      '--parent',
      AGENT,
      '--selector',
      'unix:uid:5',
    ]
    const [viaA, viaB] = await Promise.all([runMain(args(files.a.configPath)), runMain(args(files.b.configPath))])
    expect([viaA.code, viaB.code].sort()).toEqual([0, 1])
    expect([...viaA.err, ...viaB.err].join('\n')).toMatch(/ERR_ENTRY_EXISTS/)
    expect((await listedIds(b!)).length).toBe(5)
    expect((await listedIds(a!)).length).toBe(5)
  })
})
