/**
 * Issue 12 end to end on Node (startNodeServer, loopback only, bounded counts):
 * - an attested agent (live swtpm) cannot get an SVID over a key it does not hold (the server
 *   CA's key, the server's TLS key) nor over a weak key;
 * - the per-identity rate limit: 429 with Retry-After, no SVID;
 * - what held and must keep holding: replayed answers, concurrent copies and guessed session IDs
 *   are refused; TLS 1.2/1.3 with forward-secret suites only;
 * - the listener's connection cap (one connection over it is closed while the others still
 *   answer) and its header, request, idle and keep-alive timeouts.
 */
import { X509Certificate, generateKeyPairSync, randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { connect as netConnect, type Socket } from 'node:net'
import { join } from 'node:path'
import { connect as tlsConnect } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfigFile } from '../../server/entry/bootstrap.ts'
import { startNodeServer, type RunningServer } from '../../server/entry/node.ts'
import { evidenceSet, LiveAgent } from '../core/attestation/live-agent.ts'
import { attestOverHttp, post } from './http-agent.ts'
import { writeServerFiles } from './setup.ts'
import { caFetch } from './spawn-server.ts'

let a: LiveAgent
let b: LiveAgent
let tlsServer: RunningServer
let f: typeof fetch
const logs: Record<string, unknown>[] = []

async function start(extra: string, tls: boolean, sink: Record<string, unknown>[] = []) {
  const files = writeServerFiles({ tls, extra })
  const s = await startNodeServer(loadConfigFile(files.configPath, {}), {
    write: (l) => sink.push(JSON.parse(l) as Record<string, unknown>),
  })
  return { s, files }
}

async function svidsIssued(): Promise<number> {
  const text = await (await f(`${tlsServer.url}/metrics`)).text()
  return Number(/^vouch_svids_issued_total (\d+)$/m.exec(text)![1])
}

beforeAll(async () => {
  ;[a, b] = await Promise.all([LiveAgent.start('tpm-a'), LiveAgent.start('tpm-b')])
  const { s, files } = await start('rateLimit: { perIdentity: { burst: 3, rate: 0.001 } }\n', true, logs)
  tlsServer = s
  f = caFetch(readFileSync(join(files.dataDir, 'ca', 'ca.pem'), 'utf8'))
}, 60_000)
afterAll(async () => {
  await tlsServer?.close()
  await Promise.all([a?.stop(), b?.stop()])
})

describe('e2e (Node): SVIDs only for keys the agent holds', () => {
  it("an attested agent asking for the server CA's key or the server's TLS key: 401 ERR_SVID_KEY_UNPROVEN, nothing issued", async () => {
    const caSpki = new Uint8Array(
      new X509Certificate(tlsServer.server.ca.certificate.raw).publicKey.export({ type: 'spki', format: 'der' }),
    )
    const tlsSpki = new Uint8Array(
      new X509Certificate(tlsServer.server.tls!.certificatePem).publicKey.export({ type: 'spki', format: 'der' }),
    )
    const before = await svidsIssued()
    for (const foreignKey of [caSpki, tlsSpki]) {
      const r = await attestOverHttp(tlsServer.url, a, evidenceSet('tpm-a-devid-rsa') as Record<string, string>, { fetch: f, foreignKey })
      expect(r.answer?.status, JSON.stringify(r.answer?.body)).toBe(401)
      expect(r.answer?.body.code).toBe('ERR_SVID_KEY_UNPROVEN')
    }
    expect(await svidsIssued()).toBe(before)
  })

  it('RSA-512 and RSA-1024 with e = 3 (TPM proofs bound to them): 400 ERR_SVID_KEY_REJECTED, nothing issued', async () => {
    const before = await svidsIssued()
    for (const [modulusLength, publicExponent] of [
      [512, 65537],
      [1024, 3],
    ]) {
      const k = generateKeyPairSync('rsa', { modulusLength: modulusLength!, publicExponent: publicExponent! }).publicKey
      const foreignKey = new Uint8Array(k.export({ type: 'spki', format: 'der' }))
      const r = await attestOverHttp(tlsServer.url, a, evidenceSet('tpm-a-devid-rsa') as Record<string, string>, { fetch: f, foreignKey })
      expect([r.answer?.status, r.answer?.body.code]).toEqual([400, 'ERR_SVID_KEY_REJECTED'])
    }
    expect(await svidsIssued()).toBe(before)
  })

  it('the agent with its own key and proof still gets its SVID; the verdict trail names the possession check', async () => {
    const r = await attestOverHttp(tlsServer.url, b, evidenceSet('tpm-b-devid-rsa') as Record<string, string>, { fetch: f })
    expect(r.answer?.status, JSON.stringify(r.answer?.body)).toBe(200)
    const checks = r.answer!.body.checks as { name: string; ok: boolean; detail: string }[]
    expect(checks.find((c) => c.name === 'svid_key.possession')).toEqual({
      name: 'svid_key.possession',
      ok: true,
      detail: 'keyProof over the session binding verifies with the EC P-256 key',
    })
  })
})

describe('e2e (Node): rate limit per attested identity', () => {
  it('past its burst one DevID gets 429 ERR_RATE_LIMITED and no SVID; another identity is not held', async () => {
    // tpm-b's RSA DevID: one SVID in the test above, two more here, then the limit (burst 3)
    for (let i = 0; i < 2; i++) {
      const ok = await attestOverHttp(tlsServer.url, b, evidenceSet('tpm-b-devid-rsa') as Record<string, string>, { fetch: f })
      expect(ok.answer?.status).toBe(200)
    }
    const before = await svidsIssued()
    const limited = await attestOverHttp(tlsServer.url, b, evidenceSet('tpm-b-devid-rsa') as Record<string, string>, { fetch: f })
    expect(limited.answer?.status).toBe(429)
    expect(limited.answer?.body.code).toBe('ERR_RATE_LIMITED')
    const raw = await f(`${tlsServer.url}/v1/attest/${limited.sessionId}/answer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(limited.answerBody),
    })
    expect(raw.status).toBe(404) // the session was used up by the limited answer
    expect(await svidsIssued()).toBe(before)
    expect(logs.some((l) => l.msg === 'Rate limited' && l.scope === 'identity' && l.client === '127.0.0.1')).toBe(true)
    const metrics = await (await f(`${tlsServer.url}/metrics`)).text()
    expect(metrics).toContain('vouch_rate_limited_total{scope="identity"} 1')
    expect(metrics).toContain('vouch_attestation_proofs_total{attestor_type="tpm_devid",outcome="rate_limited"} 1')
    // another identity (tpm-a's RSA DevID) is not held
    const other = await attestOverHttp(tlsServer.url, a, evidenceSet('tpm-a-devid-rsa') as Record<string, string>, { fetch: f })
    expect(other.answer?.status, JSON.stringify(other.answer?.body)).toBe(200)
  })

  it('Retry-After comes with the 429 (a fresh session of the same identity)', async () => {
    const r = await attestOverHttp(tlsServer.url, b, evidenceSet('tpm-b-devid-rsa') as Record<string, string>, {
      fetch: async (url, init) => {
        const res = await f(url, init)
        if (String(url).endsWith('/answer')) expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
        return res
      },
    })
    expect(r.answer?.status).toBe(429)
  })
})

describe('e2e (Node): what held keeps holding', () => {
  it('15 replays of an accepted answer, 8 concurrent copies of one answer, 200 guessed session IDs: one success each, the rest refused', async () => {
    const r = await attestOverHttp(tlsServer.url, a, evidenceSet('tpm-a-devid-p256') as Record<string, string>, { fetch: f })
    expect(r.answer?.status).toBe(200)
    for (let i = 0; i < 15; i++) {
      expect(await post(`${tlsServer.url}/v1/attest/${r.sessionId}/answer`, r.answerBody, f)).toEqual({
        status: 404,
        body: { code: 'ERR_SESSION_UNKNOWN', message: 'unknown session ID' },
      })
    }
    let answerBody: Record<string, unknown> | undefined
    let sessionId: string | undefined
    // an honest answer, captured instead of sent, then sent 8 times at once
    const captured = await attestOverHttp(tlsServer.url, a, evidenceSet('tpm-a-devid-p256-ak-ecc') as Record<string, string>, {
      fetch: async (url, init) => {
        if (String(url).endsWith('/answer')) {
          sessionId = String(url).split('/').at(-2)
          answerBody = JSON.parse(String(init!.body)) as Record<string, unknown>
          return new Response('{}', { status: 299 })
        }
        return f(url, init)
      },
    })
    expect(captured.answer?.status).toBe(299)
    const results = await Promise.all(
      Array.from({ length: 8 }, () => post(`${tlsServer.url}/v1/attest/${sessionId}/answer`, answerBody, f)),
    )
    expect(results.map((x) => x.status).sort()).toEqual([200, 404, 404, 404, 404, 404, 404, 404])
    for (let i = 0; i < 200; i++) {
      const guess = randomBytes(24).toString('base64url')
      const g = await post(`${tlsServer.url}/v1/attest/${guess}/answer`, { answers: {} }, f)
      expect(g.status).toBe(404)
    }
  })

  it('TLS: 1.3 and 1.2 with ECDHE suites; 1.1, and 1.2 without forward secrecy, are refused', async () => {
    const { port } = new URL(tlsServer.url)
    const hello = (o: Record<string, unknown>) =>
      new Promise<{ protocol: string | null; cipher: string } | Error>((resolve) => {
        const s = tlsConnect({ host: '127.0.0.1', port: Number(port), rejectUnauthorized: false, ...o }, () => {
          resolve({ protocol: s.getProtocol(), cipher: s.getCipher().name })
          s.end()
        })
        s.on('error', (e) => resolve(e))
      })
    expect(await hello({})).toMatchObject({ protocol: 'TLSv1.3' })
    const v12 = (await hello({ maxVersion: 'TLSv1.2' })) as { protocol: string; cipher: string }
    expect(v12.protocol).toBe('TLSv1.2')
    expect(v12.cipher).toMatch(/^ECDHE-/)
    // the client allows the old protocol and suites (security level 0); the server refuses them
    expect(await hello({ minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })).toBeInstanceOf(Error)
    for (const cipher of ['AES128-GCM-SHA256', 'AES256-SHA256', 'DHE-RSA-AES128-GCM-SHA256'])
      expect(await hello({ maxVersion: 'TLSv1.2', ciphers: `${cipher}@SECLEVEL=0` }), cipher).toBeInstanceOf(Error)
  })
})

/** A raw socket to the server: what it received, and whether the server closed it. */
function rawSocket(port: number) {
  const state = { data: '', closed: false }
  const socket: Socket = netConnect({ host: '127.0.0.1', port })
  socket.on('data', (d: Buffer) => void (state.data += d.toString()))
  socket.on('error', () => {})
  const closed = new Promise<void>((r) => socket.on('close', () => r()))
  void closed.then(() => void (state.closed = true))
  const connected = new Promise<void>((r) => socket.on('connect', () => r()))
  return { socket, state, closed, connected }
}

/** Sends GET /live on a kept-alive socket and waits for its whole answer. */
async function getLive(c: ReturnType<typeof rawSocket>): Promise<string> {
  c.state.data = ''
  c.socket.write('GET /live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n')
  for (let i = 0; i < 200 && !/\r\n\r\n\{"status":"ok"\}$/.test(c.state.data) && !c.state.closed; i++)
    await new Promise((r) => setTimeout(r, 10))
  return c.state.data
}

const within = (p: Promise<void>, ms: number) =>
  Promise.race([p.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))])

describe('e2e (Node): the listener holds its limits', () => {
  it('maxConnections 4: a fifth connection is closed at once while the four open ones still answer', async () => {
    const { s } = await start('limits: { maxConnections: 4 }\n', false)
    const port = Number(new URL(s.url).port)
    const open = Array.from({ length: 4 }, () => rawSocket(port))
    try {
      for (const c of open) {
        await c.connected
        expect(await getLive(c)).toMatch(/^HTTP\/1\.1 200/)
      }
      const fifth = rawSocket(port)
      expect(await within(fifth.closed, 3000)).toBe(true)
      expect(fifth.state.data).toBe('')
      for (const c of open) expect(await getLive(c)).toMatch(/^HTTP\/1\.1 200/)
      // a closed one frees its place
      open[0]!.socket.destroy()
      await open[0]!.closed
      await new Promise((r) => setTimeout(r, 50))
      const again = rawSocket(port)
      await again.connected
      expect(await getLive(again)).toMatch(/^HTTP\/1\.1 200/)
      again.socket.destroy()
    } finally {
      for (const c of open) c.socket.destroy()
      await s.close()
    }
  })

  it('headers, request and keep-alive timeouts close slow and silent connections (the idle timer is not needed for it)', async () => {
    const { s } = await start(
      'limits: { headersTimeout: 400ms, requestTimeout: 800ms, idleTimeout: 60s, keepAliveTimeout: 300ms, maxRequestsPerSocket: 2 }\n',
      false,
    )
    const port = Number(new URL(s.url).port)
    try {
      const silent = rawSocket(port) // connects, sends nothing: closed once headersTimeout has passed
      const slowHeaders = rawSocket(port)
      slowHeaders.socket.write('GET /live HTTP/1.1\r\nHost: 127.0.0.1\r\n')
      const slowBody = rawSocket(port)
      slowBody.socket.write(
        'POST /v1/attest HTTP/1.1\r\nHost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"a"',
      )
      const kept = rawSocket(port)
      await kept.connected
      expect(await getLive(kept)).toMatch(/^HTTP\/1\.1 200/)
      const results = await Promise.all([silent, slowHeaders, slowBody, kept].map((c) => within(c.closed, 5000)))
      expect(results).toEqual([true, true, true, true])
      // maxRequestsPerSocket 2: the second answer says the connection closes
      const two = rawSocket(port)
      await two.connected
      expect(await getLive(two)).not.toMatch(/connection: close/i)
      expect(await getLive(two)).toMatch(/connection: close/i)
      two.socket.destroy()
    } finally {
      await s.close()
    }
  })
})
