/**
 * The workload routes in process: a real CA, registry, entry store and JWT authority; the mTLS
 * client certificate comes from a test-only header through the app's clientCertificates hook
 * (the Node listener's own hook is covered end to end in test/e2e/workload-svid.test.ts).
 */
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { createAttestationVerifier } from '../../../core/attestation/verifier.ts'
import { withPlatform } from '../../../core/platform.ts'
import { createMemorySessionStore, type SessionValue } from '../../../core/session/store.ts'
import { createApp } from '../../../server/app.ts'
import { ServerCa } from '../../../server/ca/authority.ts'
import { JwtAuthority } from '../../../server/ca/jwt-authority.ts'
import { checkEntryInput } from '../../../server/entries/validate.ts'
import { openSqliteWasm } from '../../../server/entry/sqlite-wasm.ts'
import { createJsonLogger } from '../../../server/logging.ts'
import { SqliteEntryStore } from '../../../server/registry/entries.ts'
import { AgentRegistry } from '../../../server/registry/registry.ts'
import { opensslCsr } from '../../e2e/http-agent.ts'
import { recordAttestedAgent } from '../attested-agent.ts'
import { fixturePolicies } from '../harness.ts'

const TD = 'example.org'
const AGENT = 'spiffe://example.org/agent/a'

async function setup(withJwt = true) {
  const platform = withPlatform({})
  const db = openSqliteWasm(join(mkdtempSync(join(tmpdir(), 'vouch-workload-')), 'agents.db'))
  const registry = new AgentRegistry(db)
  const entries = new SqliteEntryStore(db)
  const { ca } = await ServerCa.create(TD, platform, crypto.subtle)
  const sessions = createMemorySessionStore<SessionValue>({ now: () => platform.now() })
  const { authority } = await JwtAuthority.create(crypto.subtle)
  const app = createApp({
    trustDomain: TD,
    verifier: createAttestationVerifier({ policies: fixturePolicies(), sessions, platform, trustDomain: TD }),
    sessions,
    ca,
    registry,
    platform,
    logger: createJsonLogger(
      () => {},
      () => platform.now(),
    ),
    svidTtlMs: 3_600_000,
    entries,
    ...(withJwt ? { jwtAuthority: authority } : {}),
    jwtIssuer: 'https://vouch.example.org',
    clientCertificates: (c) => {
      const h = c.req.header('x-test-client-cert')
      return h ? [new Uint8Array(Buffer.from(h, 'base64'))] : undefined
    },
  })
  const cert = await recordAttestedAgent(ca, registry, AGENT, ['tpm_devid:subject:cn:a'])
  const own = entries.create(checkEntryInput({ spiffeId: 'spiffe://example.org/w', parentId: AGENT, selectors: ['unix:uid:1'] }, TD), 0)
  const post = (path: string, body: unknown, headers: Record<string, string> = { 'x-test-client-cert': cert }) =>
    app.request(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    })
  return { app, ca, registry, entries, own, cert, post, authority }
}

describe('workload routes (in process)', () => {
  it('GET /v1/entries with the agent SVID; 401 with a certificate of another CA', async () => {
    const s = await setup()
    const r = await s.app.request('/v1/entries', { headers: { 'x-test-client-cert': s.cert } })
    expect(r.status).toBe(200)
    expect(((await r.json()) as { entries: { id: string }[] }).entries.map((e) => e.id)).toEqual([s.own.id])
    const { ca: stranger } = await ServerCa.create(TD, withPlatform({}), crypto.subtle)
    const foreign = await stranger.issueSvid(opensslCsr().spki, AGENT, 60_000)
    const f = await s.app.request('/v1/entries', { headers: { 'x-test-client-cert': Buffer.from(foreign.der).toString('base64') } })
    expect(f.status).toBe(401)
    const body = (await f.json()) as { code: string; message: string }
    expect(body.code).toBe('ERR_ENTRY_UNAUTHENTICATED')
    expect(body.message).toMatch(/^client certificate is not an X\.509-SVID of this trust domain: ERR_SVID_UNTRUSTED: /)
  })

  it('malformed requests get their codes: no JSON, no entryId, no csr, a bad audience, a server without a JWT key', async () => {
    const s = await setup()
    expect(await (await s.post('/v1/svid/x509', 'not json')).json()).toEqual({
      code: 'ERR_EVIDENCE_MALFORMED',
      message: 'request body: not valid JSON',
    })
    expect(await (await s.post('/v1/svid/x509', { csr: 'AA==' })).json()).toEqual({
      code: 'ERR_ENTRY_INVALID',
      message: 'entryId: expected a registration entry ID',
    })
    expect(await (await s.post('/v1/svid/x509', { entryId: s.own.id })).json()).toEqual({
      code: 'ERR_ENTRY_CSR_INVALID',
      message: 'csr: expected base64 PKCS#10 DER',
    })
    const notDer = await s.post('/v1/svid/x509', { entryId: s.own.id, csr: 'AAAA' })
    expect(notDer.status).toBe(400)
    expect(((await notDer.json()) as { code: string }).code).toBe('ERR_ENTRY_CSR_INVALID')
    for (const audience of [[], '', Array(17).fill('a'), ['x'.repeat(257)], 5]) {
      const r = await s.post('/v1/svid/jwt', { entryId: s.own.id, audience })
      expect(r.status).toBe(400)
      expect(((await r.json()) as { code: string }).code).toBe('ERR_ENTRY_AUDIENCE_INVALID')
    }
    const ok = await s.post('/v1/svid/jwt', { entryId: s.own.id, audience: 'a' })
    expect(ok.status).toBe(200)
    const noJwt = await setup(false)
    expect((await noJwt.post('/v1/svid/jwt', { entryId: noJwt.own.id, audience: 'a' })).status).toBe(501)
    expect((await noJwt.app.request('/.well-known/openid-configuration')).status).toBe(404)
  })

  it('the bundle carries the JWT authority; discovery names the configured issuer', async () => {
    const s = await setup()
    const bundle = (await (await s.app.request('/v1/bundle')).json()) as { keys: Record<string, unknown>[] }
    expect(bundle.keys.map((k) => k.use)).toEqual(['x509-svid', 'jwt-svid'])
    expect(bundle.keys[1]).toEqual({ use: 'jwt-svid', kid: s.authority.kid, ...s.authority.publicJwk })
    const d = (await (await s.app.request('/.well-known/openid-configuration')).json()) as Record<string, unknown>
    expect([d.issuer, d.jwks_uri]).toEqual(['https://vouch.example.org', 'https://vouch.example.org/keys'])
  })

  it('after a CA rotation: the old root and the new authenticate agents, the answer carries both roots and the cross certificate', async () => {
    const s = await setup()
    const oldRoot = s.ca.certificate.raw
    await s.ca.rotate(TD)
    // the agent's SVID from before the rotation chains to the retired root, still in the bundle
    expect((await s.app.request('/v1/entries', { headers: { 'x-test-client-cert': s.cert } })).status).toBe(200)
    // a re-attested agent gets an SVID from the new root: the bundle the route checks is the current one
    const { spki, csr } = opensslCsr()
    const svid = await s.ca.issueSvid(spki, AGENT, 3_600_000)
    s.registry.recordAttestation({
      spiffeId: AGENT,
      attestorType: 'tpm_devid',
      attributes: {},
      at: Date.now(),
      svidSerial: svid.serialHex,
      svidExpiresAt: svid.notAfter,
      selectors: ['tpm_devid:subject:cn:a'],
    })
    const cert = Buffer.from(svid.der).toString('base64')
    const r = await s.post('/v1/svid/x509', { entryId: s.own.id, csr: Buffer.from(csr).toString('base64') }, { 'x-test-client-cert': cert })
    expect(r.status).toBe(200)
    const body = (await r.json()) as { svid: string[]; bundle: string }
    expect(body.svid).toHaveLength(2)
    expect(body.svid[1]).toBe(s.ca.crossPem())
    expect(body.bundle).toBe(s.ca.authoritiesPem())
    expect(body.bundle).toContain(Buffer.from(oldRoot).toString('base64').slice(0, 64))
    expect(body.bundle).toContain(Buffer.from(s.ca.certificate.raw).toString('base64').slice(0, 64))
  })
})
