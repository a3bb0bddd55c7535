/**
 * Workload SVIDs end to end on Node: a real TLS listener (startNodeServer, tls: true), an agent
 * attested with a live fixture swtpm (tpm-a), registration entries made with `vouch entry create`
 * and the store, then the agent over mTLS with its node SVID: its entries, an X.509-SVID per CSR
 * that verifies against /v1/bundle, a JWT-SVID that verifies against the bundle, against the OIDC
 * JWKS, and with jose; and the refusals.
 */
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { request } from 'node:https'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalJWKSet, jwtVerify } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { toPem } from '../../core/bytes/pem.ts'
import { withPlatform } from '../../core/platform.ts'
import { parsePublicJwk } from '../../core/svid/jwk.ts'
import { JwtBundle } from '../../core/svid/jwt-bundle.ts'
import { verifyJwtSvid } from '../../core/svid/jwt-svid.ts'
import { parseSpiffeBundle } from '../../core/svid/spiffe-bundle.ts'
import { verifyX509Svid } from '../../core/svid/x509-svid.ts'
import { main } from '../../cli/main.ts'
import { createNodePlatform } from '../../runtimes/node/index.ts'
import { checkEntryInput } from '../../server/entries/validate.ts'
import { loadConfigFile } from '../../server/entry/bootstrap.ts'
import { startNodeServer, type RunningServer } from '../../server/entry/node.ts'
import { evidenceSet, LiveAgent } from '../core/attestation/live-agent.ts'
import { attestOverHttp, opensslCsr } from './http-agent.ts'
import { TRUST_DOMAIN, writeServerFiles } from './setup.ts'
import { caFetch } from './spawn-server.ts'

interface Reply {
  readonly status: number
  readonly body: Record<string, unknown>
}

let tpm: LiveAgent
let files: ReturnType<typeof writeServerFiles>
let server: RunningServer
let caPem: string
/** the agent's node SVID and key, PEM */
let agent: { id: string; cert: string; key: string }
const ids: Record<'own' | 'fleet' | 'other', string> = { own: '', fleet: '', other: '' }

/** A request over node:https trusting only the server CA, with an optional client certificate. */
function call(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  client?: { cert: string; key: string },
  headers: Record<string, string> = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server.url}${path}`,
      {
        method,
        ca: caPem,
        headers: { 'content-type': 'application/json', ...headers },
        // a forged Host header would also become the TLS name: the certificate is still checked against the CA
        ...(headers.host ? { servername: 'localhost' } : {}),
        ...(client ?? {}),
      },
      (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown> }),
        )
      },
    )
    req.on('error', reject)
    if (body !== undefined) req.write(JSON.stringify(body))
    req.end()
  })
}

beforeAll(async () => {
  tpm = await LiveAgent.start('tpm-a')
  files = writeServerFiles({ tls: true })
  const platform = withPlatform({}, createNodePlatform())
  server = await startNodeServer(loadConfigFile(files.configPath, {}), { platform, write: () => {} })
  caPem = readFileSync(join(files.dataDir, 'ca', 'ca.pem'), 'utf8')
  const r = await attestOverHttp(server.url, tpm, evidenceSet('tpm-a-devid-p256') as Record<string, string>, { fetch: caFetch(caPem) })
  expect(r.answer?.status, JSON.stringify(r.answer?.body ?? r.start.body)).toBe(200)
  const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', r.keyPair.privateKey))
  agent = { id: r.answer!.body.spiffeId as string, cert: (r.answer!.body.svid as string[])[0]!, key: toPem('PRIVATE KEY', pkcs8) }
  // one entry by the CLI (the same database file, the server running), two through the store
  const out: string[] = []
  const code = await main(
    [
      'entry',
      'create',
      '--server-config',
      files.configPath,
      '--output',
      'json',
      '--spiffe-id',
      'spiffe://example.org/web',
      '--parent',
      agent.id,
      '--selector',
      'unix:uid:1000',
      '--x509-ttl',
      '600',
      '--dns',
      'web.example.org',
    ],
    { out: (l) => out.push(l), err: (l) => out.push(l) },
  )
  expect(code, out.join('\n')).toBe(0)
  ids.own = (JSON.parse(out[0]!) as { id: string }).id
  const issuerSelector = (await server.server.registry.get(agent.id))!.selectors.find((s) => s.startsWith('tpm_devid:issuer:cn:'))!
  ids.fleet = (
    await server.server.entries.create(
      checkEntryInput(
        {
          spiffeId: 'spiffe://example.org/fleet/db',
          parentSelectors: [issuerSelector],
          selectors: ['unix:gid:70'],
          jwtSvidTtlSeconds: 120,
        },
        TRUST_DOMAIN,
      ),
      Date.now(),
    )
  ).id
  ids.other = (
    await server.server.entries.create(
      checkEntryInput(
        { spiffeId: 'spiffe://example.org/elsewhere', parentId: 'spiffe://example.org/agent/other', selectors: ['unix:uid:1'] },
        TRUST_DOMAIN,
      ),
      Date.now(),
    )
  ).id
}, 60_000)

afterAll(async () => {
  await server?.close()
  await tpm?.stop()
})

const bundle = async () => parseSpiffeBundle(TRUST_DOMAIN, JSON.stringify((await call('GET', '/v1/bundle')).body))

describe('workload SVIDs over mTLS with the node SVID', () => {
  it("the attested agent has its selectors recorded; GET /v1/entries lists its own and its fleet entries, not another parent's", async () => {
    expect((await server.server.registry.get(agent.id))!.selectors).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^tpm_devid:subject:cn:/),
        expect.stringMatching(/^tpm_devid:ca:fingerprint:[0-9a-f]{40}$/),
      ]),
    )
    const r = await call('GET', '/v1/entries', undefined, agent)
    expect(r.status, JSON.stringify(r.body)).toBe(200)
    const entries = r.body.entries as { id: string; spiffeId: string; x509SvidTtl: number | null; dnsNames: string[] }[]
    expect(entries.map((e) => e.id).sort()).toEqual([ids.own, ids.fleet].sort())
    expect(entries.find((e) => e.id === ids.own)).toMatchObject({
      spiffeId: 'spiffe://example.org/web',
      x509SvidTtl: 600,
      dnsNames: ['web.example.org'],
    })
  })

  it('POST /v1/svid/x509: an X.509-SVID for the CSR key, the entry ID, TTL and DNS name, verifying against /v1/bundle', async () => {
    const { csr, spki } = opensslCsr()
    const r = await call('POST', '/v1/svid/x509', { entryId: ids.own, csr: Buffer.from(csr).toString('base64') }, agent)
    expect(r.status, JSON.stringify(r.body)).toBe(200)
    const pem = (r.body.svid as string[])[0]!
    const verified = await verifyX509Svid(pem, await bundle())
    expect(verified.id.toString()).toBe('spiffe://example.org/web')
    const x = new X509Certificate(pem)
    expect(new Uint8Array(x.publicKey.export({ type: 'spki', format: 'der' }))).toEqual(spki)
    expect(x.subjectAltName).toBe('DNS:web.example.org, URI:spiffe://example.org/web')
    // 600 s from the entry (plus the 10 s back-dating for clock skew), not the server's 1 h
    expect((Date.parse(x.validTo) - Date.parse(x.validFrom)) / 1000).toBe(610)
    // the fleet entry (parented by an agent selector) is issued too
    const fleet = await call('POST', '/v1/svid/x509', { entryId: ids.fleet, csr: Buffer.from(opensslCsr().csr).toString('base64') }, agent)
    expect(fleet.status).toBe(200)
    expect((await verifyX509Svid((fleet.body.svid as string[])[0]!, await bundle())).id.toString()).toBe('spiffe://example.org/fleet/db')
  })

  it("refuses: another parent's entry (403), no client certificate (401), a CSR whose signature does not verify, an unknown entry, a workload SVID as client", async () => {
    const csr = opensslCsr().csr
    expect(await call('POST', '/v1/svid/x509', { entryId: ids.other, csr: Buffer.from(csr).toString('base64') }, agent)).toEqual({
      status: 403,
      body: { code: 'ERR_ENTRY_NOT_AUTHORIZED', message: `entry ${ids.other} is not parented to agent ${agent.id}` },
    })
    expect((await call('POST', '/v1/svid/jwt', { entryId: ids.other, audience: 'a' }, agent)).status).toBe(403)
    for (const [method, path] of [
      ['GET', '/v1/entries'],
      ['POST', '/v1/svid/x509'],
      ['POST', '/v1/svid/jwt'],
    ] as const) {
      expect(await call(method, path, method === 'POST' ? { entryId: ids.own } : undefined)).toEqual({
        status: 401,
        body: { code: 'ERR_ENTRY_UNAUTHENTICATED', message: 'no client certificate: call over mTLS with the agent X.509-SVID' },
      })
    }
    const tampered = new Uint8Array(csr)
    tampered[tampered.length - 5]! ^= 0x01
    const bad = await call('POST', '/v1/svid/x509', { entryId: ids.own, csr: Buffer.from(tampered).toString('base64') }, agent)
    expect(bad.status).toBe(400)
    expect(bad.body.code).toBe('ERR_ENTRY_CSR_INVALID')
    expect(bad.body.message).toMatch(/^csr: /)
    expect(await call('POST', '/v1/svid/x509', { entryId: 'f'.repeat(32), csr: Buffer.from(csr).toString('base64') }, agent)).toEqual({
      status: 404,
      body: { code: 'ERR_ENTRY_NOT_FOUND', message: `entryId: no entry "${'f'.repeat(32)}"` },
    })
    // a workload SVID (same CA, valid chain) is not an agent's
    const dir = mkdtempSync(join(tmpdir(), 'vouch-workload-'))
    execFileSync('openssl', ['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', join(dir, 'k.pem')])
    execFileSync('openssl', ['req', '-new', '-key', join(dir, 'k.pem'), '-subj', '/CN=w', '-outform', 'DER', '-out', join(dir, 'r.der')])
    const issued = await call(
      'POST',
      '/v1/svid/x509',
      { entryId: ids.own, csr: readFileSync(join(dir, 'r.der')).toString('base64') },
      agent,
    )
    const workload = { cert: (issued.body.svid as string[])[0]!, key: readFileSync(join(dir, 'k.pem'), 'utf8') }
    expect(await call('GET', '/v1/entries', undefined, workload)).toEqual({
      status: 401,
      body: { code: 'ERR_ENTRY_UNAUTHENTICATED', message: 'client certificate: spiffe://example.org/web is not a registered agent' },
    })
    // a banned agent gets nothing, with its valid SVID
    server.server.registry.setBanned(agent.id, true)
    try {
      expect(await call('GET', '/v1/entries', undefined, agent)).toEqual({
        status: 403,
        body: { code: 'ERR_AGENT_BANNED', message: 'agent is banned' },
      })
    } finally {
      server.server.registry.setBanned(agent.id, false)
    }
    expect((await call('GET', '/v1/entries', undefined, agent)).status).toBe(200)
  })

  it('POST /v1/svid/jwt: an ES256 JWT-SVID that verifies against the bundle (jwt-svid authority), the OIDC JWKS, and with jose', async () => {
    const r = await call('POST', '/v1/svid/jwt', { entryId: ids.fleet, audience: ['https://api.example.org', 'other'] }, agent)
    expect(r.status, JSON.stringify(r.body)).toBe(200)
    const token = r.body.token as string
    const b = await bundle()
    expect(b.jwtAuthorities.size).toBe(1)
    const svid = await verifyJwtSvid(token, b, { audience: 'https://api.example.org' })
    expect(svid.id.toString()).toBe('spiffe://example.org/fleet/db')
    expect(svid.header).toEqual({ alg: 'ES256', kid: [...b.jwtAuthorities.keys()][0], typ: 'JWT' })
    expect(svid.expiry - (svid.claims.iat as number)).toBe(120)
    await expect(verifyJwtSvid(token, b, { audience: 'someone-else' })).rejects.toMatchObject({ code: 'ERR_JWT_SVID_AUDIENCE' })

    const discovery = await call('GET', '/.well-known/openid-configuration')
    expect(discovery).toEqual({
      status: 200,
      body: {
        issuer: server.url,
        jwks_uri: `${server.url}/keys`,
        response_types_supported: ['id_token'],
        subject_types_supported: ['public'],
        id_token_signing_alg_values_supported: ['ES256'],
      },
    })
    // a client cannot choose the issuer: a forged Host header changes nothing
    const forged = await call('GET', '/.well-known/openid-configuration', undefined, undefined, { host: 'attacker.example:443' })
    expect(forged.body).toMatchObject({ issuer: server.url, jwks_uri: `${server.url}/keys` })
    const jwks = (await call('GET', '/keys')).body as { keys: Record<string, unknown>[] }
    expect(jwks.keys).toHaveLength(1)
    expect(jwks.keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', use: 'sig', alg: 'ES256', kid: svid.header.kid })
    // vouch, with the OIDC JWKS as the trust domain's JWT bundle
    const fromOidc = new JwtBundle(TRUST_DOMAIN, [[jwks.keys[0]!.kid as string, parsePublicJwk(jwks.keys[0]!, 'oidc key')!]])
    expect((await verifyJwtSvid(token, fromOidc, { audience: 'other' })).id.toString()).toBe('spiffe://example.org/fleet/db')
    // jose, independently, with the issuer from discovery
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks as never), {
      issuer: discovery.body.issuer as string,
      audience: 'https://api.example.org',
      algorithms: ['ES256'],
    })
    expect(payload.sub).toBe('spiffe://example.org/fleet/db')
    expect(protectedHeader.kid).toBe(svid.header.kid)

    expect((await call('POST', '/v1/svid/jwt', { entryId: ids.own, audience: [] }, agent)).body.code).toBe('ERR_ENTRY_AUDIENCE_INVALID')
    // the key persists in the data dir, owner-only
    expect(statSync(join(files.dataDir, 'ca', 'jwt.key')).mode & 0o777).toBe(0o600)
  })

  it("after a re-attestation only the agent's new node SVID is accepted (the registry's serial)", async () => {
    const r = await attestOverHttp(server.url, tpm, evidenceSet('tpm-a-devid-p256') as Record<string, string>, { fetch: caFetch(caPem) })
    expect(r.answer?.status).toBe(200)
    expect(await call('GET', '/v1/entries', undefined, agent)).toEqual({
      status: 401,
      body: {
        code: 'ERR_ENTRY_UNAUTHENTICATED',
        message: `client certificate: not the current SVID of agent ${agent.id} (re-attest for a new one)`,
      },
    })
    const pkcs8 = new Uint8Array(await crypto.subtle.exportKey('pkcs8', r.keyPair.privateKey))
    const renewed = { cert: (r.answer!.body.svid as string[])[0]!, key: toPem('PRIVATE KEY', pkcs8) }
    expect((await call('GET', '/v1/entries', undefined, renewed)).status).toBe(200)
  })
})
