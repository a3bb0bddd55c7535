/**
 * Issue 12 in-process (app.request): nothing an unauthenticated client sends grows the metrics
 * or the log lines without bound; rate limits per client address answer 429 with Retry-After;
 * every request log line names the client; cheap checks come before any signature (weak SVID
 * keys refused at once, the session looked up before a CSR or keyProof signature is checked);
 * a bare publicKey without its proof of possession is refused.
 */
import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { makeSvidKeyProofMessage } from '../../core/attestation/svid-key.ts'
import { DER_NULL, encodeBitString, encodeOidTlv, encodeSequence, encodeUnsignedInteger } from '../../core/der/writer.ts'
import { OID } from '../../core/der/oid.ts'
import { encodeSubjectPublicKeyInfo } from '../../core/x509/spki.ts'
import { evidenceSet } from '../core/attestation/live-agent.ts'
import { opensslCsr } from '../e2e/http-agent.ts'
import { DEFAULT_RATE_LIMIT } from '../../server/limits-config.ts'
import { makeTestServer, postJson } from './harness.ts'

const EVIDENCE = { providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidenceSet('tpm-a-devid-rsa') } }
const UNKNOWN = `/v1/attest/${'A'.repeat(32)}/answer`
const ANSWERS = { tpm_devid: { DevID: 'AA==', CredActivation: 'AA==' } }
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64')
const spkiOf = (k: import('node:crypto').KeyObject) => new Uint8Array(k.export({ type: 'spki', format: 'der' }))
const fromHeader = (c: { req: { header: (n: string) => string | undefined } }) => c.req.header('x-client') ?? '192.0.2.1'

async function call(p: Promise<Response> | Response): Promise<{ status: number; code: string; message: string }> {
  const res = await p
  const body = (await res.json()) as { code: string; message: string }
  return { status: res.status, code: body.code, message: body.message }
}

describe('issue 12: no unbounded growth from attacker strings', () => {
  it('200 failed starts naming 4,000 made-up attestor types: a fixed number of series, a small /metrics, bounded log lines', async () => {
    const s = await makeTestServer({ rateLimit: { ...DEFAULT_RATE_LIMIT, enabled: false } })
    const before = s.logs.length
    for (let r = 0; r < 200; r++) {
      const providedMethods = Array.from({ length: 20 }, (_, i) => `attacker-${r}-${i}-${'z'.repeat(400)}`)
      const res = await postJson(s.app, '/v1/attest', { providedMethods, evidence: {} })
      expect(res.status).toBeGreaterThanOrEqual(400)
      expect(res.status).toBeLessThan(500)
    }
    expect(s.metrics.proofSeries).toBeLessThanOrEqual(2)
    const text = await (await s.app.request('/metrics')).text()
    expect(text.length).toBeLessThan(4096)
    expect(text).not.toContain('attacker')
    expect(text).toContain('vouch_attestation_proofs_total{attestor_type="other",outcome="failure"} 200')
    const lines = s.logs.slice(before)
    // the list is logged once per request (not again in the failure line), bounded
    expect(lines.filter((l) => 'providedMethods' in l)).toHaveLength(200)
    expect(lines.filter((l) => l.msg === 'Attestation failed').every((l) => !('providedMethods' in l))).toBe(true)
    for (const l of lines) expect(JSON.stringify(l).length).toBeLessThan(6000)
    const first = lines.find((l) => 'providedMethods' in l)!
    expect(first.providedMethodsCount).toBe(20)
    expect((first.providedMethods as string[])[0]).toMatch(/…\[\+\d+ chars\]$/)
    expect((first.providedMethods as string[]).at(-1)).toBe('…[+4 more]')
  })
})

describe('issue 12: rate limits per client address', () => {
  const rateLimit = { ...DEFAULT_RATE_LIMIT, perAddress: { burst: 5, ratePerSecond: 0.5 } }

  it('a burst passes, the next request gets 429 ERR_RATE_LIMITED with Retry-After; other addresses, /metrics and /live are not held', async () => {
    const s = await makeTestServer({ rateLimit, clientAddress: fromHeader })
    const get = (client: string) => s.app.request('/v1/bundle', { headers: { 'x-client': client } })
    for (let i = 0; i < 5; i++) expect((await get('198.51.100.7')).status).toBe(200)
    const limited = await get('198.51.100.7')
    expect(limited.status).toBe(429)
    expect(limited.headers.get('retry-after')).toBe('2')
    expect(await limited.json()).toEqual({
      code: 'ERR_RATE_LIMITED',
      message: 'too many requests for this client address; retry after 2 s',
    })
    // the refusal comes before the body is read: a POST is refused the same way
    const post = await s.app.request('/v1/attest', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-client': '198.51.100.7' },
      body: JSON.stringify(EVIDENCE),
    })
    expect(post.status).toBe(429)
    expect(s.sessions.active()).toBe(0)
    expect((await postJson(s.app, '/v1/attest', EVIDENCE)).status).toBe(200) // 192.0.2.1 (no header) is another address
    expect((await get('198.51.100.8')).status).toBe(200)
    expect((await s.app.request('/live')).status).toBe(200)
    const metrics = await (await s.app.request('/metrics')).text()
    expect(metrics).toContain('vouch_rate_limited_total{scope="address"} 2')
    // one log line per run of refusals (not one per refusal), naming the client
    s.clock.offset += 2000
    expect((await get('198.51.100.7')).status).toBe(200)
    for (let i = 0; i < 10; i++) expect((await get('198.51.100.7')).status).toBe(429)
    const limitedLines = s.logs.filter((l) => l.msg === 'Rate limited')
    expect(limitedLines.map((l) => [l.client, l.scope])).toEqual([
      ['198.51.100.7', 'address'],
      ['198.51.100.7', 'address'],
    ])
    expect(await (await s.app.request('/metrics')).text()).toContain('vouch_rate_limited_total{scope="address"} 12')
  })

  it('on by default: a default app limits one address after its burst', async () => {
    const s = await makeTestServer({ clientAddress: fromHeader })
    let first429 = -1
    // the clock runs during the loop and refills a few tokens: the 429 comes a little after the burst
    for (let i = 0; i < 2 * DEFAULT_RATE_LIMIT.perAddress.burst && first429 < 0; i++) {
      if ((await s.app.request('/v1/bundle.pem')).status === 429) first429 = i
    }
    expect(first429).toBeGreaterThanOrEqual(DEFAULT_RATE_LIMIT.perAddress.burst)
    expect(first429).toBeLessThan(2 * DEFAULT_RATE_LIMIT.perAddress.burst)
  })
})

describe('issue 12: the client address in every request log line', () => {
  it('start, failure, unknown session and internal lines all carry client', async () => {
    const s = await makeTestServer({ clientAddress: fromHeader })
    const headers = { 'content-type': 'application/json', 'x-client': '203.0.113.9' }
    await s.app.request('/v1/attest', { method: 'POST', headers, body: JSON.stringify(EVIDENCE) })
    await s.app.request('/v1/attest', { method: 'POST', headers, body: JSON.stringify({ providedMethods: ['tpm_ek'], evidence: {} }) })
    await s.app.request(UNKNOWN, { method: 'POST', headers, body: JSON.stringify({ answers: ANSWERS }) })
    expect(s.logs.length).toBeGreaterThanOrEqual(5)
    for (const l of s.logs) expect(l.client, JSON.stringify(l)).toBe('203.0.113.9')
  })
})

describe('issue 12: SVID keys — cheap checks first, proof of possession required', () => {
  it('weak keys are refused with ERR_SVID_KEY_REJECTED before the session is looked up', async () => {
    const s = await makeTestServer()
    const cases: [Uint8Array, RegExp][] = [
      [spkiOf(generateKeyPairSync('rsa', { modulusLength: 512 }).publicKey), /512 bits is shorter than 2048/],
      [spkiOf(generateKeyPairSync('rsa', { modulusLength: 1024, publicExponent: 3 }).publicKey), /1024 bits is shorter/],
      [spkiOf(generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 3 }).publicKey), /exponent must be 65537/],
      [spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey), /P-521 is not certified/],
    ]
    for (const [spki, message] of cases) {
      const r = await call(postJson(s.app, UNKNOWN, { answers: ANSWERS, publicKey: b64(spki), keyProof: 'AAAA' }))
      expect([r.status, r.code]).toEqual([400, 'ERR_SVID_KEY_REJECTED'])
      expect(r.message).toMatch(message)
    }
  })

  it('a publicKey without keyProof is refused with ERR_SVID_KEY_UNPROVEN (an attested agent cannot ask for a key it does not hold)', async () => {
    const s = await makeTestServer()
    const live = (await (await postJson(s.app, '/v1/attest', EVIDENCE)).json()) as { sessionId: string }
    // the server CA's own public key, as in the issue
    const r = await call(
      postJson(s.app, `/v1/attest/${live.sessionId}/answer`, { answers: ANSWERS, publicKey: b64(s.ca.certificate.spki) }),
    )
    expect([r.status, r.code]).toEqual([401, 'ERR_SVID_KEY_UNPROVEN'])
    expect(r.message).toMatch(/^keyProof: missing/)
    expect(s.metrics.svidsIssued).toBe(0)
  })

  it('a keyProof that does not verify fails the live session with ERR_SVID_KEY_UNPROVEN (check svid_key.possession) and consumes it', async () => {
    const s = await makeTestServer()
    const live = (await (await postJson(s.app, '/v1/attest', EVIDENCE)).json()) as { sessionId: string }
    const mine = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])) as CryptoKeyPair
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', mine.publicKey))
    const binding = new Uint8Array(await crypto.subtle.digest('SHA-256', spki))
    // signed for another session: not good for this one
    const stale = new Uint8Array(
      await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, mine.privateKey, makeSvidKeyProofMessage('B'.repeat(32), binding)),
    )
    const path = `/v1/attest/${live.sessionId}/answer`
    const r = await call(postJson(s.app, path, { answers: ANSWERS, publicKey: b64(spki), keyProof: b64(stale) }))
    expect([r.status, r.code]).toEqual([401, 'ERR_SVID_KEY_UNPROVEN'])
    expect(s.sessions.active()).toBe(0)
    const again = await call(postJson(s.app, path, { answers: ANSWERS, publicKey: b64(spki), keyProof: b64(stale) }))
    expect([again.status, again.code]).toEqual([404, 'ERR_SESSION_UNKNOWN'])
  })

  it('the session is looked up before any signature: a CSR or keyProof that does not verify, sent to an unknown session, reads "unknown session"', async () => {
    const s = await makeTestServer()
    const { csr } = opensslCsr()
    csr[csr.length - 1] = csr[csr.length - 1]! ^ 0x01 // the signature's last byte: still DER, no longer valid
    const bad = await call(postJson(s.app, UNKNOWN, { answers: ANSWERS, csr: b64(csr) }))
    expect([bad.status, bad.code]).toEqual([404, 'ERR_SESSION_UNKNOWN'])
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])) as CryptoKeyPair
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey))
    const r = await call(postJson(s.app, UNKNOWN, { answers: ANSWERS, publicKey: b64(spki), keyProof: b64(new Uint8Array(64)) }))
    expect([r.status, r.code]).toEqual([404, 'ERR_SESSION_UNKNOWN'])
    // on a live session the same CSR fails as unproven
    const live = (await (await postJson(s.app, '/v1/attest', EVIDENCE)).json()) as { sessionId: string }
    const onLive = await call(postJson(s.app, `/v1/attest/${live.sessionId}/answer`, { answers: ANSWERS, csr: b64(csr) }))
    expect([onLive.status, onLive.code]).toEqual([401, 'ERR_SVID_KEY_UNPROVEN'])
  })

  it('a CSR over an RSA key with a 3072-bit public exponent is refused at parse, before any session or signature', async () => {
    const s = await makeTestServer()
    const n = new Uint8Array(384).fill(0xc7)
    const e = new Uint8Array(384).fill(0xff)
    const info = encodeSequence(
      encodeUnsignedInteger(new Uint8Array([0])),
      encodeSequence(),
      encodeSubjectPublicKeyInfo({ kty: 'RSA', n, e }),
      new Uint8Array([0xa0, 0x00]),
    )
    const csr = encodeSequence(
      info,
      encodeSequence(encodeOidTlv(OID.sha256WithRSAEncryption), DER_NULL),
      encodeBitString(new Uint8Array(384)),
    )
    const live = (await (await postJson(s.app, '/v1/attest', EVIDENCE)).json()) as { sessionId: string }
    const r = await call(postJson(s.app, `/v1/attest/${live.sessionId}/answer`, { answers: ANSWERS, csr: b64(csr) }))
    expect([r.status, r.code]).toEqual([400, 'ERR_EVIDENCE_MALFORMED'])
    expect(r.message).toMatch(/exponent of 3072 bits is longer than 32 bits/)
    expect(s.sessions.active()).toBe(1) // not consumed: refused before the lookup
  })
})

describe('issue 12: replayed evidence is limited per identity at the start', () => {
  it('one captured evidence from many addresses: starts past the identity burst get 429 before any session is kept; another device still starts', async () => {
    const rateLimit = { ...DEFAULT_RATE_LIMIT, perIdentity: { burst: 5, ratePerSecond: 0.001 } }
    const s = await makeTestServer({ rateLimit, clientAddress: fromHeader })
    const statuses: number[] = []
    for (let i = 0; i < 12; i++) {
      // a new address each time: the per-address limit never applies
      const res = await s.app.request('/v1/attest', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-client': `198.51.100.${i + 1}` },
        body: JSON.stringify(EVIDENCE),
      })
      statuses.push(res.status)
      if (res.status === 429) {
        expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
        expect(((await res.json()) as { code: string }).code).toBe('ERR_RATE_LIMITED')
      }
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429, 429, 429, 429, 429, 429])
    // refused starts left no session behind
    expect(s.sessions.active()).toBe(5)
    // another identity (tpm-b's DevID) is not held by tpm-a's bucket
    const other = await postJson(s.app, '/v1/attest', {
      providedMethods: ['tpm_devid'],
      evidence: { tpm_devid: evidenceSet('tpm-b-devid-rsa') },
    })
    expect(other.status).toBe(200)
  })
})
