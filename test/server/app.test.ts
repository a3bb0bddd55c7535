/**
 * The Hono app in-process (app.request): bad requests, unknown sessions, the bundle in JWKS and
 * PEM, OpenAPI, metrics, health and the start of a real attestation on swtpm fixture evidence.
 */
import { X509Certificate } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { parseSpiffeBundle } from '../../core/svid/spiffe-bundle.ts'
import { evidenceSet } from '../core/attestation/live-agent.ts'
import { TRUST_DOMAIN, makeTestServer, postJson } from './harness.ts'

const EVIDENCE = { providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidenceSet('tpm-a-devid-rsa') } }

describe('server app: attestation start', () => {
  it('answers evidence with a session ID, an RFC 3339 expiry and the tpm_devid challenge; logs the seed messages without secrets', async () => {
    const s = await makeTestServer()
    const res = await postJson(s.app, '/v1/attest', EVIDENCE)
    expect(res.status).toBe(200)
    const body = (await res.json()) as {
      sessionId: string
      expiresAt: string
      challenges: { tpm_devid: { DevID: string; CredActivation: { Credential: string; Secret: string } } }
    }
    expect(body.sessionId).toMatch(/^[A-Za-z0-9_-]{32}$/)
    expect(Date.parse(body.expiresAt)).toBeGreaterThan(Date.now())
    expect(Buffer.from(body.challenges.tpm_devid.DevID, 'base64').length).toBe(32)
    expect(s.sessions.active()).toBe(1)
    const msgs = s.logs.map((l) => l.msg)
    expect(msgs).toContain('Connected to agent')
    expect(s.logs.find((l) => l.msg === 'Login started with multi-attestation support')!.providedMethods).toEqual(['tpm_devid'])
    const text = JSON.stringify(s.logs)
    expect(text).not.toContain(body.challenges.tpm_devid.DevID)
    expect(text).not.toContain(body.challenges.tpm_devid.CredActivation.Secret)
    const metrics = await (await s.app.request('/metrics')).text()
    expect(metrics).toMatch(/^vouch_sessions_active 1$/m)
  })

  it('no matching policy: 403 with the seed message, counted as a failure', async () => {
    const s = await makeTestServer()
    const res = await postJson(s.app, '/v1/attest', { providedMethods: ['tpm_ek'], evidence: { tpm_ek: {} } })
    expect(res.status).toBe(403)
    expect(await res.json()).toEqual({ code: 'ERR_POLICY_DENIED', message: 'no cluster policy authorizes the provided attestors' })
    expect(await (await s.app.request('/metrics')).text()).toContain(
      'vouch_attestation_proofs_total{attestor_type="tpm_ek",outcome="failure"} 1',
    )
    expect(s.logs.some((l) => l.msg === 'Attestation failed' && l.message === 'no cluster policy authorizes the provided attestors')).toBe(
      true,
    )
  })

  it('EK not trusted: the evidence of tpm-a checked against a policy with no trust for its EK', async () => {
    const { policies, devidPolicy, DEVID_ROOT } = await import('../core/attestation/fixtures.ts')
    const s = await makeTestServer({ policies: policies(devidPolicy({ devIDCACerts: DEVID_ROOT, allowedEKHashes: ['ab'.repeat(32)] })) })
    const res = await postJson(s.app, '/v1/attest', EVIDENCE)
    expect(res.status).toBe(401)
    expect(await res.json()).toMatchObject({ code: 'ERR_EK_UNTRUSTED', message: 'EK validation failed' })
  })

  it('a DevID leaf that is a CA: 401 ERR_DEVID_PROFILE, the message naming the certificate and the rule', async () => {
    const { issueDevIdLeaf, b64 } = await import('../core/attestation/profile-certs.ts')
    const s = await makeTestServer()
    const leaf = await issueDevIdLeaf('tpm-a/devid-rsa.pem', {
      basicConstraints: { cA: true },
      keyUsage: ['digitalSignature', 'keyCertSign'],
    })
    const ev = evidenceSet('tpm-a-devid-rsa')
    const res = await postJson(s.app, '/v1/attest', {
      providedMethods: ['tpm_devid'],
      evidence: { tpm_devid: { ...ev, DevIDCert: [b64(leaf), (ev.DevIDCert as string[])[1]] } },
    })
    expect(res.status).toBe(401)
    const body = (await res.json()) as { code: string; message: string }
    expect(body.code).toBe('ERR_DEVID_PROFILE')
    expect(body.message).toMatch(
      /^DevID certificate \(CN=profile-test-devid, serial [0-9a-f]+\): basicConstraints cA is true; a DevID leaf is not a CA$/,
    )
  })
})

describe('server app: bad requests get a clear 4xx and disturb nothing', () => {
  it('malformed JSON, wrong types, wrong content type, oversized bodies, unknown and malformed session IDs, unknown routes', async () => {
    const s = await makeTestServer({ maxBodyBytes: 64 * 1024 })
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])) as CryptoKeyPair
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey))
    spki[spki.length - 1] = spki[spki.length - 1]! ^ 0x01 // y no longer on the curve
    const offCurve = Buffer.from(spki).toString('base64')
    const live = (await (await postJson(s.app, '/v1/attest', EVIDENCE)).json()) as { sessionId: string }
    const cases: [Promise<Response> | Response, number, string, RegExp][] = [
      [postJson(s.app, '/v1/attest', '{"providedMethods": ['), 400, 'ERR_EVIDENCE_MALFORMED', /not valid JSON/],
      [postJson(s.app, '/v1/attest', '[]'), 400, 'ERR_EVIDENCE_MALFORMED', /expected a JSON object/],
      [postJson(s.app, '/v1/attest', { providedMethods: 'tpm_devid', evidence: {} }), 400, 'ERR_EVIDENCE_MALFORMED', /providedMethods/],
      [postJson(s.app, '/v1/attest', { providedMethods: ['tpm_devid'], evidence: [] }), 400, 'ERR_EVIDENCE_MALFORMED', /evidence/],
      [
        postJson(s.app, '/v1/attest', { providedMethods: ['tpm_devid'], evidence: { tpm_devid: { DevIDCert: 7 } } }),
        400,
        'ERR_EVIDENCE_MALFORMED',
        /DevIDCert/,
      ],
      [
        s.app.request('/v1/attest', { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' }),
        415,
        'ERR_REQUEST_MEDIA_TYPE',
        /content-type/,
      ],
      [
        postJson(s.app, '/v1/attest', JSON.stringify({ providedMethods: ['tpm_devid'], evidence: { x: 'a'.repeat(70 * 1024) } })),
        413,
        'ERR_INPUT_TOO_LARGE',
        /larger than 65536 bytes/,
      ],
      [postJson(s.app, `/v1/attest/${'A'.repeat(32)}/answer`, { answers: {} }), 404, 'ERR_SESSION_UNKNOWN', /^unknown session ID$/],
      [postJson(s.app, '/v1/attest/nope/answer', { answers: {} }), 404, 'ERR_SESSION_UNKNOWN', /^unknown session ID$/],
      [postJson(s.app, `/v1/attest/${'A'.repeat(32)}/answer`, { answers: 5 }), 400, 'ERR_EVIDENCE_MALFORMED', /answers/],
      [
        postJson(s.app, `/v1/attest/${'A'.repeat(32)}/answer`, { answers: {}, publicKey: 'AAAA' }),
        400,
        'ERR_EVIDENCE_MALFORMED',
        /^publicKey: not a supported SubjectPublicKeyInfo/,
      ],
      [postJson(s.app, `/v1/attest/${'A'.repeat(32)}/answer`, { answers: {}, publicKey: 12 }), 400, 'ERR_EVIDENCE_MALFORMED', /publicKey/],
      [
        postJson(s.app, `/v1/attest/${'A'.repeat(32)}/answer`, { answers: {}, publicKey: offCurve }),
        400,
        'ERR_EVIDENCE_MALFORMED',
        /^publicKey: the key does not import/,
      ],
      [
        postJson(s.app, `/v1/attest/${'A'.repeat(32)}/answer`, { answers: {}, csr: 'MAA=' }),
        400,
        'ERR_EVIDENCE_MALFORMED',
        /^csr: not a valid certification request/,
      ],
      [
        postJson(s.app, `/v1/attest/${'A'.repeat(32)}/answer`, { answers: {}, csr: 'MAA=', publicKey: offCurve }),
        400,
        'ERR_EVIDENCE_MALFORMED',
        /^give publicKey or csr, not both$/,
      ],
      [s.app.request('/v2/nothing'), 404, 'ERR_ROUTE_NOT_FOUND', /no route GET \/v2\/nothing/],
    ]
    for (const [p, status, code, message] of cases) {
      const res = await p
      const body = (await res.json()) as { code: string; message: string }
      expect([res.status, body.code], JSON.stringify(body)).toEqual([status, code])
      expect(body.message).toMatch(message)
    }
    // the live session is still there and answerable (it is consumed by this answer, not before)
    expect(s.sessions.active()).toBe(1)
    const res = await postJson(s.app, `/v1/attest/${live.sessionId}/answer`, {
      answers: { tpm_devid: { DevID: 'AA==', CredActivation: 'AA==' } },
    })
    expect(res.status).toBe(401)
    expect(s.sessions.active()).toBe(0)
  })
})

describe('server app: bundle, OpenAPI, metrics, health', () => {
  it('serves the SPIFFE bundle as JWKS (x509-svid, x5c, no kid, sequence, refresh hint) and as PEM, both the CA root', async () => {
    const s = await makeTestServer()
    const text = await (await s.app.request('/v1/bundle')).text()
    const doc = JSON.parse(text) as { keys: Record<string, unknown>[]; spiffe_sequence: number; spiffe_refresh_hint: number }
    expect(doc.spiffe_sequence).toBe(1)
    expect(doc.spiffe_refresh_hint).toBe(1800)
    expect(doc.keys).toHaveLength(1)
    expect(doc.keys[0]!.use).toBe('x509-svid')
    expect(doc.keys[0]!.kid).toBeUndefined()
    expect(doc.keys[0]!.kty).toBe('EC')
    expect(Buffer.from((doc.keys[0]!.x5c as string[])[0]!, 'base64')).toEqual(Buffer.from(s.ca.certificate.raw))
    const bundle = parseSpiffeBundle(TRUST_DOMAIN, text)
    expect(bundle.x509Authorities[0]!.raw).toEqual(s.ca.certificate.raw)
    const pem = await (await s.app.request('/v1/bundle.pem')).text()
    const cert = new X509Certificate(pem)
    expect(new Uint8Array(cert.raw)).toEqual(s.ca.certificate.raw)
    expect(cert.ca).toBe(true)
    expect(cert.subjectAltName).toBe('URI:spiffe://example.org')
  })

  it('serves OpenAPI 3.1 naming every route', async () => {
    const s = await makeTestServer()
    const doc = (await (await s.app.request('/v1/openapi.json')).json()) as { openapi: string; paths: Record<string, unknown> }
    expect(doc.openapi).toBe('3.1.0')
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/v1/attest',
        '/v1/attest/{sessionId}/answer',
        '/v1/bundle',
        '/v1/bundle.pem',
        '/v1/entries',
        '/v1/svid/x509',
        '/v1/svid/jwt',
        '/.well-known/openid-configuration',
        '/keys',
        '/metrics',
        '/live',
        '/ready',
      ]),
    )
  })

  it('live and ready (and the z forms); ready turns 503 when the database is closed', async () => {
    const s = await makeTestServer()
    for (const p of ['/live', '/livez', '/ready', '/readyz']) expect((await s.app.request(p)).status).toBe(200)
    s.registry.close()
    const res = await s.app.request('/readyz')
    expect(res.status).toBe(503)
    expect(await res.json()).toEqual({ status: 'unavailable', checks: { policy: true, database: false } })
    expect((await s.app.request('/livez')).status).toBe(200)
  })

  it('metrics: Prometheus text with the four families', async () => {
    const s = await makeTestServer()
    s.metrics.observeDuration(0.03)
    const text = await (await s.app.request('/metrics')).text()
    expect(text).toContain('# TYPE vouch_attestation_proofs_total counter')
    expect(text).toContain('# TYPE vouch_attestation_duration_seconds histogram')
    expect(text).toMatch(/^vouch_attestation_duration_seconds_bucket\{le="0.025"\} 0$/m)
    expect(text).toMatch(/^vouch_attestation_duration_seconds_bucket\{le="0.05"\} 1$/m)
    expect(text).toMatch(/^vouch_attestation_duration_seconds_count 1$/m)
    expect(text).toMatch(/^vouch_sessions_active 0$/m)
    expect(text).toMatch(/^vouch_svids_issued_total 0$/m)
  })
})
