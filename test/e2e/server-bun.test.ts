/**
 * End to end on Bun: the server runs under Bun (Bun.serve, bun:sqlite, TLS from the server CA),
 * agents answer from live fixture swtpm instances over HTTPS that trusts only the server CA.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../cli/main.ts'
import { parseSpiffeBundle } from '../../core/svid/spiffe-bundle.ts'
import { verifyX509Svid } from '../../core/svid/x509-svid.ts'
import { evidenceSet, LiveAgent } from '../core/attestation/live-agent.ts'
import { attestOverHttp, newKey } from './http-agent.ts'
import { TRUST_DOMAIN, writeServerFiles } from './setup.ts'
import { caFetch, spawnServer, type Child } from './spawn-server.ts'

let a: LiveAgent
let b: LiveAgent
let files: ReturnType<typeof writeServerFiles>
let server: Child
let f: typeof fetch

beforeAll(async () => {
  files = writeServerFiles({ tls: true })
  ;[a, b, server] = await Promise.all([LiveAgent.start('tpm-a'), LiveAgent.start('tpm-b'), spawnServer('bun', files.configPath)])
  f = caFetch(readFileSync(join(files.dataDir, 'ca', 'ca.pem'), 'utf8'))
}, 60_000)
afterAll(async () => {
  await server?.kill()
  await Promise.all([a?.stop(), b?.stop()])
})

describe('e2e (Bun server, TLS)', () => {
  it('listens on https with a certificate from the server CA (an untrusting client is refused)', async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/)
    expect((await f(`${server.url}/readyz`)).status).toBe(200)
    await expect(fetch(`${server.url}/readyz`)).rejects.toThrow()
  })

  for (const [label, agent, set] of [
    ['RSA DevID', () => a, 'tpm-a-devid-rsa'],
    ['ECC DevID', () => a, 'tpm-a-devid-p256'],
    ['RSA DevID (tpm-b)', () => b, 'tpm-b-devid-rsa'],
  ] as const) {
    it(`${label}: verdict, SPIFFE ID from the template, SVID chaining to the served bundle`, async () => {
      const r = await attestOverHttp(server.url, agent(), evidenceSet(set) as Record<string, string>, { fetch: f })
      expect(r.answer?.status, JSON.stringify(r.answer?.body ?? r.start.body)).toBe(200)
      const body = r.answer!.body as { spiffeId: string; svid: string[]; attributes: Record<string, string> }
      expect(body.spiffeId).toBe(`spiffe://${TRUST_DOMAIN}/agent/tpm_devid/${body.attributes['tpm_devid.certificate.serial_number']}`)
      const bundle = parseSpiffeBundle(TRUST_DOMAIN, await (await f(`${server.url}/v1/bundle`)).text())
      expect((await verifyX509Svid(body.svid.join(''), bundle)).id.toString()).toBe(body.spiffeId)
      expect(new X509Certificate(body.svid[0]!).publicKey.export({ type: 'spki', format: 'der' })).toEqual(Buffer.from(r.spki))
    })
  }

  it('failures carry the seed messages: swapped key, replayed answer, DevID from another TPM', async () => {
    const attacker = await newKey()
    const swapped = await attestOverHttp(server.url, a, evidenceSet('tpm-a-devid-rsa') as Record<string, string>, {
      fetch: f,
      swapPublicKey: attacker.spki,
      swapSigner: attacker.keyPair,
    })
    expect(swapped.answer).toEqual({ status: 401, body: { code: 'ERR_DEVID_SIGNATURE', message: 'DevID signature verification failed' } })
    const ok = await attestOverHttp(server.url, b, evidenceSet('tpm-b-devid-rsa') as Record<string, string>, { fetch: f })
    const replay = await f(`${server.url}/v1/attest/${ok.sessionId}/answer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(ok.answerBody),
    })
    expect(replay.status).toBe(404)
    expect(await replay.json()).toEqual({ code: 'ERR_SESSION_UNKNOWN', message: 'unknown session ID' })
    const other = await attestOverHttp(server.url, a, evidenceSet('bent-devid-from-other-tpm') as Record<string, string>, { fetch: f })
    expect((other.answer ?? other.start).body).toEqual({
      code: 'ERR_DEVID_CERTIFICATION',
      message: 'DevID certification verification failed',
    })
    const logs = server.output()
    for (const m of [
      'DevID signature verification failed',
      'unknown session ID',
      'DevID certification verification failed',
      'Login started with multi-attestation support',
      'Authorization received and verified',
    ]) {
      expect(logs).toContain(`"${m}"`)
    }
    // the client address from Bun's requestIP in the request lines
    expect(logs).toMatch(/"msg":"Login started with multi-attestation support","client":"127\.0\.0\.1"/)
  })

  it('a restart under Bun keeps the CA and the registry; the Node CLI reads the bun:sqlite database', async () => {
    const bundle = await (await f(`${server.url}/v1/bundle`)).text()
    await server.kill()
    server = await spawnServer('bun', files.configPath)
    expect(await (await f(`${server.url}/v1/bundle`)).text()).toBe(bundle)
    const out: string[] = []
    expect(await main(['agent', 'list', '--data-dir', files.dataDir, '--output', 'json'], { out: (l) => out.push(l), err: () => {} })).toBe(
      0,
    )
    const agents = JSON.parse(out[0]!) as { spiffeId: string; attestations: number }[]
    expect(agents.length).toBe(3)
    expect(agents.reduce((n, x) => n + x.attestations, 0)).toBe(4)
  })
})
