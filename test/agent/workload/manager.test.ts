/**
 * The agent's workload identity manager against the real vouch server over real mTLS: a node
 * attested with a live fixture swtpm (tpm-a, tpm_devid), entries in the server's registry, and the
 * manager with an injected clock (rotation and JWT caching without waiting). The server restarts on
 * the same port and data to show the manager serving what is valid while it is down, then
 * recovering by itself with backoff.
 */
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import { type AddressInfo, connect, createServer, type Socket } from 'node:net'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toPem } from '../../../core/bytes/pem.ts'
import { withPlatform } from '../../../core/platform.ts'
import { parsePublicJwk } from '../../../core/svid/jwk.ts'
import { JwtBundle } from '../../../core/svid/jwt-bundle.ts'
import { verifyJwtSvid } from '../../../core/svid/jwt-svid.ts'
import { parseSpiffeBundle } from '../../../core/svid/spiffe-bundle.ts'
import { verifyX509Svid } from '../../../core/svid/x509-svid.ts'
import { parseCertificate } from '../../../core/x509/certificate.ts'
import { jsonLogger } from '../../../agent/log.ts'
import { WorkloadManager } from '../../../agent/workload/manager.ts'
import type { NodeCredentials } from '../../../agent/workload/server-client.ts'
import type { WorkloadChange } from '../../../agent/workload/source.ts'
import { createNodePlatform } from '../../../runtimes/node/index.ts'
import { parseServerConfig } from '../../../server/config.ts'
import { checkEntryInput } from '../../../server/entries/validate.ts'
import { startNodeServer, type RunningServer } from '../../../server/entry/node.ts'
import { evidenceSet, LiveAgent } from '../../core/attestation/live-agent.ts'
import { attestOverHttp } from '../../e2e/http-agent.ts'
import { TRUST_DOMAIN, writeServerFiles } from '../../e2e/setup.ts'
import { caFetch } from '../../e2e/spawn-server.ts'

const platform = withPlatform({}, createNodePlatform())
let tpm: LiveAgent
let files: ReturnType<typeof writeServerFiles>
let configText: string
let server: RunningServer
let caPem: string
let node: NodeCredentials
const ids = { web: '', db: '' }

async function startServer(): Promise<RunningServer> {
  return startNodeServer(parseServerConfig(configText, {}), { platform, write: () => {} })
}

async function attest(): Promise<NodeCredentials> {
  const r = await attestOverHttp(server.url, tpm, evidenceSet('tpm-a-devid-p256') as Record<string, string>, { fetch: caFetch(caPem) })
  expect(r.answer?.status, JSON.stringify(r.answer?.body ?? r.start.body)).toBe(200)
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', r.keyPair.privateKey))
  return {
    spiffeId: r.answer!.body.spiffeId as string,
    certificatePem: (r.answer!.body.svid as string[]).join(''),
    privateKeyPem: toPem('PRIVATE KEY', pkcs8),
    serverCaPem: caPem,
  }
}

async function addEntry(spiffeId: string, selectors: string[], extra: Record<string, unknown> = {}): Promise<string> {
  const spec = checkEntryInput({ spiffeId, parentId: node.spiffeId, selectors, ...extra }, TRUST_DOMAIN)
  return (await server.server.entries.create(spec, Date.now())).id
}

/** a manager with a clock the test moves, and its logs */
function manager(extra: Partial<ConstructorParameters<typeof WorkloadManager>[0]> = {}) {
  const clock = { now: Date.now() }
  const logs: string[] = []
  const changes: WorkloadChange[] = []
  const m = new WorkloadManager({
    server: server.url,
    log: jsonLogger((l) => logs.push(l), 'debug'),
    now: () => clock.now,
    ...extra,
  })
  m.onChange((c) => changes.push(c))
  return { m, clock, logs, changes }
}

/** the entry IDs the server lists for the agent, in its order */
const listed = async () => (await server.server.entries.listForAgent(node.spiffeId, [])).map((e) => e.id)

const serverBundle = async () => parseSpiffeBundle(TRUST_DOMAIN, await (await caFetch(caPem)(`${server.url}/v1/bundle`)).text())

beforeAll(async () => {
  tpm = await LiveAgent.start('tpm-a')
  files = writeServerFiles({ tls: true })
  configText = readFileSync(files.configPath, 'utf8')
  server = await startServer()
  // later restarts listen on the same port
  configText = configText.replace('127.0.0.1:0', `127.0.0.1:${new URL(server.url).port}`)
  caPem = readFileSync(join(files.dataDir, 'ca', 'ca.pem'), 'utf8')
  node = await attest()
  ids.web = await addEntry('spiffe://example.org/web', ['unix:uid:1000'], { x509SvidTtlSeconds: 600, dnsNames: ['web.example.org'] })
  ids.db = await addEntry('spiffe://example.org/db', ['unix:gid:70'], { jwtSvidTtlSeconds: 120 })
}, 60_000)

afterAll(async () => {
  await server?.close()
  await tpm?.stop()
})

describe('WorkloadManager against the vouch server over mTLS', () => {
  it('issues an X.509-SVID per entry for a key made on the agent, chaining to the bundle; the bundle carries the JWT authority', async () => {
    const { m, changes } = manager()
    const report = await m.setNodeCredentials(node)
    expect(report).toMatchObject({ entries: 2, dropped: [], failed: [] })
    expect([...report.issued].sort()).toEqual([ids.web, ids.db].sort())
    expect(changes).toEqual(['bundles', 'svids'])

    const svids = m.x509Svids()
    // in the server's order
    expect(svids.map((s) => s.entry.id)).toEqual(await listed())
    expect([...(await listed())].sort()).toEqual([ids.web, ids.db].sort())
    const bundle = await serverBundle()
    for (const s of svids) {
      const v = await verifyX509Svid(s.chain, bundle, { platform })
      expect(v.id.toString()).toBe(s.entry.spiffeId)
      // the private key is the certified one: a signature with it verifies under the leaf
      const key = createPrivateKey({ key: Buffer.from(s.privateKey), format: 'der', type: 'pkcs8' })
      const leaf = createPublicKey({ key: Buffer.from(parseCertificate(s.chain[0]!).spki), format: 'der', type: 'spki' })
      expect(verify('sha256', Buffer.from('x'), leaf, sign('sha256', Buffer.from('x'), key))).toBe(true)
    }
    const web = svids.find((s) => s.entry.id === ids.web)!
    const db = svids.find((s) => s.entry.id === ids.db)!
    expect(web.entry).toMatchObject({
      spiffeId: 'spiffe://example.org/web',
      selectors: ['unix:uid:1000'],
      x509SvidTtl: 600,
      dnsNames: ['web.example.org'],
    })
    expect((web.notAfter.getTime() - web.notBefore.getTime()) / 1000).toBe(610)
    expect(db.entry).toMatchObject({ jwtSvidTtl: 120 })
    expect(db.entry.x509SvidTtl).toBeUndefined()

    const [b] = m.bundles()
    expect(b!.trustDomain).toBe(TRUST_DOMAIN)
    expect(b!.x509Authorities).toEqual(bundle.x509Authorities.map((c) => c.raw))
    expect(b!.jwtAuthorities.size).toBe(1)
    const [kid, spki] = [...b!.jwtAuthorities][0]!
    expect(kid).toBe([...bundle.jwtAuthorities.keys()][0])
    const jwk = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' })
    expect(jwk).toMatchObject({ kty: 'EC', crv: 'P-256' })
    expect(jwk).toMatchObject(bundle.jwtAuthorities.get(kid) as object)

    // a second sync with nothing due issues nothing and announces nothing
    expect(await m.sync()).toMatchObject({ issued: [], dropped: [] })
    expect(changes).toEqual(['bundles', 'svids'])
  })

  it('renews each X.509-SVID at half its lifetime, with a new key, and announces it', async () => {
    const { m, clock, changes } = manager()
    await m.setNodeCredentials(node)
    const before = m.x509Svids().find((s) => s.entry.id === ids.web)!
    const lifetime = before.notAfter.getTime() - before.notBefore.getTime()
    clock.now = before.notBefore.getTime() + lifetime / 2 - 1_000
    expect((await m.sync()).issued).toEqual([])
    expect(m.x509Svids().find((s) => s.entry.id === ids.web)).toBe(before)
    clock.now = before.notBefore.getTime() + lifetime / 2 + 1
    changes.length = 0
    // the db entry (server default 1 h) is not due yet; web is
    expect((await m.sync()).issued).toEqual([ids.web])
    expect(changes).toEqual(['svids'])
    const after = m.x509Svids().find((s) => s.entry.id === ids.web)!
    expect(after.chain[0]).not.toEqual(before.chain[0])
    expect(after.privateKey).not.toEqual(before.privateKey)
    expect(parseCertificate(after.chain[0]!).serialNumber).not.toEqual(parseCertificate(before.chain[0]!).serialNumber)
    // an SVID past its notAfter is never served, even if renewal fails
    clock.now = after.notAfter.getTime() + 1
    expect(m.x509Svids().some((s) => s.entry.id === ids.web)).toBe(false)
  })

  it('drops the SVID (and JWT-SVIDs) of a deleted entry, issues for a new one, and keeps at most maxEntries', async () => {
    const { m, changes } = manager()
    await m.setNodeCredentials(node)
    const extra = await addEntry('spiffe://example.org/batch', ['unix:uid:2000'])
    expect((await m.sync()).issued).toEqual([extra])
    await m.fetchJwtSvid(extra, ['aud'])
    changes.length = 0
    expect(await server.server.entries.delete(extra)).toBe(true)
    expect(await m.sync()).toMatchObject({ dropped: [extra], issued: [] })
    expect(changes).toEqual(['svids'])
    expect(m.x509Svids().map((s) => s.entry.id)).toEqual(await listed())
    expect(await listed()).not.toContain(extra)
    await expect(m.fetchJwtSvid(extra, ['aud'])).rejects.toMatchObject({ code: 'ERR_ENTRY_NOT_FOUND' })

    const bounded = manager({ maxEntries: 1 })
    expect((await bounded.m.setNodeCredentials(node)).entries).toBe(1)
    expect(bounded.m.x509Svids().map((s) => s.entry.id)).toEqual((await listed()).slice(0, 1))
    expect(bounded.logs.some((l) => l.includes('Registration entries over the agent bound dropped') && l.includes('"dropped":1'))).toBe(
      true,
    )
  })

  it('JWT-SVIDs: cached per entry and audience set until half their lifetime, verifying against the bundle it serves', async () => {
    const { m, clock } = manager()
    await m.setNodeCredentials(node)
    const first = await m.fetchJwtSvid(ids.db, ['https://api.example.org', 'other'])
    expect(first.spiffeId).toBe('spiffe://example.org/db')
    expect(await m.fetchJwtSvid(ids.db, ['other', 'https://api.example.org', 'other'])).toEqual(first)
    const second = await m.fetchJwtSvid(ids.db, ['other'])
    expect(second.token).not.toBe(first.token)
    // verifies with vouch against the JWT authority the manager serves (SPKI -> JWK)
    const [b] = m.bundles()
    const jwks = [...b!.jwtAuthorities].map(
      ([kid, spki]) =>
        [
          kid,
          parsePublicJwk(createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' }), 'k')!,
        ] as const,
    )
    const svid = await verifyJwtSvid(first.token, new JwtBundle(TRUST_DOMAIN, jwks), { audience: 'https://api.example.org' })
    expect(svid.expiry - (svid.claims.iat as number)).toBe(120)
    // past half life (60 s of 120) a new token is fetched
    clock.now += 61_000
    const renewed = await m.fetchJwtSvid(ids.db, ['https://api.example.org', 'other'])
    expect(renewed.token).not.toBe(first.token)
    await expect(m.fetchJwtSvid(ids.db, [])).rejects.toMatchObject({ code: 'ERR_ENTRY_AUDIENCE_INVALID' })
    await expect(m.fetchJwtSvid('0'.repeat(32), ['a'])).rejects.toMatchObject({ code: 'ERR_ENTRY_NOT_FOUND' })
  })

  it('after a re-attestation the old node SVID is refused; the new one, handed over, syncs again', async () => {
    const { m, logs } = manager()
    await m.setNodeCredentials(node)
    const renewed = await attest()
    await expect(m.sync()).rejects.toThrow(/HTTP 401 ERR_ENTRY_UNAUTHENTICATED: client certificate: not the current SVID/)
    expect(m.x509Svids()).toHaveLength(2)
    expect(await m.setNodeCredentials(renewed)).toMatchObject({ entries: 2, failed: [] })
    node = renewed
    // no key material or token in the logs
    const text = logs.join('\n')
    expect(text).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE|eyJ/)
  })

  it('server down: serves what is still valid (SVIDs, a JWT-SVID past half life), retries with backoff, recovers by itself', async () => {
    const { m, clock, logs, changes } = manager({ refreshIntervalMs: 200, backoff: { initialMs: 100, maxMs: 400 } })
    await m.setNodeCredentials(node)
    const token = await m.fetchJwtSvid(ids.db, ['down'])
    const held = m.x509Svids()
    await server.close()
    m.start()
    try {
      await expect(m.sync()).rejects.toThrow(/ECONNREFUSED/)
      expect(m.x509Svids()).toEqual(held)
      clock.now += 61_000 // past half life of the 120 s token, not expired
      expect(await m.fetchJwtSvid(ids.db, ['down'])).toEqual(token)
      clock.now += 60_000 // expired now: nothing to serve
      await expect(m.fetchJwtSvid(ids.db, ['down'])).rejects.toThrow(/ECONNREFUSED/)
      clock.now -= 121_000
      // wait for three failed rounds of the loop: the retry delay doubles up to maxMs
      await waitFor(() => logs.filter((l) => l.includes('Workload sync failed')).length >= 4, 5_000)
      const delays = logs.filter((l) => l.includes('Workload sync failed')).map((l) => (JSON.parse(l) as { retryInMs: number }).retryInMs)
      expect(delays.slice(0, 4)).toEqual([100, 200, 400, 400])

      server = await startServer()
      const added = await addEntry('spiffe://example.org/late', ['unix:uid:3000'])
      changes.length = 0
      await waitFor(() => m.x509Svids().some((s) => s.entry.id === added), 5_000)
      expect(changes).toContain('svids')
      expect(m.x509Svids().map((s) => s.entry.id)).toEqual(await listed())
      expect(await listed()).toHaveLength(3)
    } finally {
      m.stop()
    }
  })
})

describe('WorkloadManager across a server CA rotation', () => {
  it('announces the new bundle, and SVIDs issued after it chain to the new root through the cross certificate', async () => {
    const { m, changes } = manager()
    await m.setNodeCredentials(node)
    const before = m.bundles()[0]!.x509Authorities
    await server.server.rotateCa()
    changes.length = 0
    await m.sync()
    expect(changes).toEqual(['bundles'])
    const after = m.bundles()[0]!.x509Authorities
    expect(after).toHaveLength(before.length + 1)
    expect(after).toEqual(expect.arrayContaining([...before]))
    // SVIDs issued after the rotation (a fresh manager issues at once): signed by the new root, with the cross certificate
    const fresh = manager()
    expect((await fresh.m.setNodeCredentials(node)).failed).toEqual([])
    const bundle = await serverBundle()
    expect(fresh.m.x509Svids()).toHaveLength((await listed()).length)
    for (const s of fresh.m.x509Svids()) {
      expect(s.chain.length).toBe(2)
      const v = await verifyX509Svid(s.chain, bundle, { platform })
      expect(v.verifiedChain.at(-1)!.raw).toEqual(
        after.find((a) => !before.some((b) => Buffer.compare(Buffer.from(a), Buffer.from(b)) === 0)),
      )
    }
  })
})

async function waitFor(check: () => boolean, ms: number): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error(`condition not met in ${ms} ms`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/**
 * A TCP relay in front of the server (TLS passes through untouched): it lets the next `allow`
 * connections through and resets the others, so the manager's entry listing succeeds and the
 * issuance after it fails, as when the server goes down in the middle of a sync.
 */
async function relay(port: number) {
  const state = { allow: Number.POSITIVE_INFINITY }
  const sockets = new Set<Socket>()
  const r = createServer((c) => {
    sockets.add(c)
    c.on('close', () => sockets.delete(c))
    if (state.allow <= 0) return c.resetAndDestroy()
    state.allow--
    const up = connect(port, '127.0.0.1')
    sockets.add(up)
    up.on('close', () => sockets.delete(up))
    c.pipe(up).pipe(c)
    c.on('error', () => up.destroy())
    up.on('error', () => c.destroy())
  })
  await new Promise<void>((ok) => r.listen(0, '127.0.0.1', ok))
  return {
    state,
    url: `https://127.0.0.1:${(r.address() as AddressInfo).port}`,
    close: () => {
      for (const s of sockets) s.destroy()
      return new Promise<void>((ok) => r.close(() => ok()))
    },
  }
}

describe('WorkloadManager when an entry changes or an SVID expires and issuance fails', () => {
  it('drops the SVID and JWT-SVIDs of a changed entry at once and announces it; an expired SVID is dropped and announced while the server is unreachable', async () => {
    const front = await relay(Number(new URL(server.url).port))
    const id = await addEntry('spiffe://example.org/moving', ['unix:uid:4000'], { jwtSvidTtlSeconds: 600 })
    try {
      const { m, clock, changes, logs } = manager({ server: front.url })
      await m.setNodeCredentials(node)
      const held = m.x509Svids().find((s) => s.entry.id === id)!
      expect(held.entry).toMatchObject({ spiffeId: 'spiffe://example.org/moving', selectors: ['unix:uid:4000'] })
      const token = await m.fetchJwtSvid(id, ['aud'])
      expect(token.spiffeId).toBe('spiffe://example.org/moving')

      // the operator edits the entry in the registry (the store has no update call: its own SQL table)
      ;(server.server.entries as unknown as { db: { run(sql: string, args: unknown[]): void } }).db.run(
        'UPDATE entries SET spiffe_id = ?, selectors = ? WHERE id = ?',
        ['spiffe://example.org/moved', JSON.stringify(['unix:uid:4001']), id],
      )
      changes.length = 0
      // the bundle and the entry list get through; the issuance does not
      front.state.allow = 2
      await expect(m.sync()).rejects.toThrow(/not issued/)
      expect(changes).toEqual(['svids'])
      // nothing issued for the old entry (old SPIFFE ID, old selectors) is served any longer
      expect(m.x509Svids().some((s) => s.entry.id === id)).toBe(false)
      expect(m.x509Svids().some((s) => s.entry.spiffeId === 'spiffe://example.org/moving')).toBe(false)
      // nor the cached JWT-SVID naming the old SPIFFE ID: a new one is asked for (and the server is unreachable)
      front.state.allow = 0
      await expect(m.fetchJwtSvid(id, ['aud'])).rejects.toThrow()
      expect(logs.some((l) => l.includes('Workload SVID dropped (entry changed)') && l.includes(id))).toBe(true)

      // back: the new entry's SVID is issued and announced
      front.state.allow = Number.POSITIVE_INFINITY
      changes.length = 0
      expect((await m.sync()).issued).toEqual([id])
      expect(changes).toEqual(['svids'])
      const fresh = m.x509Svids().find((s) => s.entry.id === id)!
      expect(fresh.entry).toMatchObject({ spiffeId: 'spiffe://example.org/moved', selectors: ['unix:uid:4001'] })
      expect((await verifyX509Svid(fresh.chain, await serverBundle(), { platform })).id.toString()).toBe('spiffe://example.org/moved')
      expect((await m.fetchJwtSvid(id, ['aud'])).spiffeId).toBe('spiffe://example.org/moved')

      // the server unreachable: an SVID past its notAfter is dropped and announced, so open streams stop serving it
      front.state.allow = 0
      const web = m.x509Svids().find((s) => s.entry.id === ids.web)!
      clock.now = web.notAfter.getTime()
      changes.length = 0
      await expect(m.sync()).rejects.toThrow()
      expect(changes).toEqual(['svids'])
      expect(m.x509Svids().some((s) => s.entry.id === ids.web)).toBe(false)
      expect(logs.some((l) => l.includes('Workload SVID dropped (expired)') && l.includes(ids.web))).toBe(true)
      // nothing more to drop: no further announcement
      await expect(m.sync()).rejects.toThrow()
      expect(changes).toEqual(['svids'])
    } finally {
      await server.server.entries.delete(id)
      await front.close()
    }
  })
})
