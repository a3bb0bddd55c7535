/**
 * End to end on Node: `startNodeServer` (the real HTTP listener, node-sqlite3-wasm registry, CA
 * in the data dir) + agents over HTTP answering with live fixture swtpm instances (tpm-a, tpm-b).
 * Successes for RSA and ECC DevIDs with SVIDs that chain to the served bundle; every failure with
 * its seed message at the agent and in the log; several agents at once; restart keeps the
 * registry and CA.
 */
import { X509Certificate, createPublicKey } from 'node:crypto'
import { readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withPlatform } from '../../core/platform.ts'
import { parseSpiffeBundle } from '../../core/svid/spiffe-bundle.ts'
import { verifyX509Svid } from '../../core/svid/x509-svid.ts'
import { createNodePlatform } from '../../runtimes/node/index.ts'
import { loadConfigFile } from '../../server/entry/bootstrap.ts'
import { startNodeServer, type RunningServer } from '../../server/entry/node.ts'
import { main } from '../../cli/main.ts'
import { DEVID_ROOT } from '../core/attestation/fixtures.ts'
import { evidenceSet, LiveAgent, vector } from '../core/attestation/live-agent.ts'
import { attestOverHttp, newKey, post } from './http-agent.ts'
import { TRUST_DOMAIN, policyDocument, writeServerFiles } from './setup.ts'
import { caFetch } from './spawn-server.ts'

let a: LiveAgent
let b: LiveAgent
let files: ReturnType<typeof writeServerFiles>
let server: RunningServer
const logs: Record<string, unknown>[] = []
const clock = { offset: 0 }

async function start(f = files, sink = logs): Promise<RunningServer> {
  const platform = withPlatform({ now: () => Date.now() + clock.offset }, createNodePlatform())
  return startNodeServer(loadConfigFile(f.configPath, {}), { platform, write: (l) => sink.push(JSON.parse(l) as Record<string, unknown>) })
}

beforeAll(async () => {
  ;[a, b] = await Promise.all([LiveAgent.start('tpm-a'), LiveAgent.start('tpm-b')])
  files = writeServerFiles()
  server = await start()
}, 60_000)
afterAll(async () => {
  await server?.close()
  await Promise.all([a?.stop(), b?.stop()])
})

const serialOf = (path: string) => new X509Certificate(vector(path)).serialNumber.toLowerCase()
const cli = async (argv: string[]) => {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) })
  return { code, out, err }
}
async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text()
  const m = new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\S+)$`, 'm').exec(text)
  return m ? Number(m[1]) : 0
}
function failureLogged(message: string) {
  return logs.some((l) => l.msg === 'Attestation failed' && l.message === message)
}

describe('e2e (Node): success', () => {
  for (const [label, tpm, set, leafPath] of [
    ['RSA DevID (tpm-a)', () => a, 'tpm-a-devid-rsa', 'tpm-a/devid-rsa.crt.der'],
    ['ECC P-256 DevID (tpm-a)', () => a, 'tpm-a-devid-p256', 'tpm-a/devid-p256.crt.der'],
    ['ECC DevID with an ECC AK (tpm-a)', () => a, 'tpm-a-devid-p256-ak-ecc', 'tpm-a/devid-p256.crt.der'],
    ['RSA DevID (tpm-b)', () => b, 'tpm-b-devid-rsa', 'tpm-b/devid-rsa.crt.der'],
  ] as const) {
    it(`${label}: SPIFFE ID from the template, the seed's attributes, an SVID for the agent's key chaining to the served bundle`, async () => {
      const before = await metric('vouch_svids_issued_total')
      const t0 = Date.now()
      const r = await attestOverHttp(server.url, tpm(), evidenceSet(set) as Record<string, string>)
      const t1 = Date.now()
      expect(r.answer?.status, JSON.stringify(r.answer?.body ?? r.start.body)).toBe(200)
      const body = r.answer!.body as {
        verdict: string
        spiffeId: string
        attributes: Record<string, string>
        svid: string[]
        expiresAt: string
        reattestAfter: string
      }
      const spiffeId = `spiffe://${TRUST_DOMAIN}/agent/tpm_devid/${serialOf(leafPath)}`
      expect(body.verdict).toBe('ok')
      const checks = (body as unknown as { checks: { name: string; ok: boolean }[] }).checks
      expect(checks.length).toBeGreaterThan(5)
      expect(checks.every((c) => c.ok)).toBe(true)
      // the swtpm fixtures meet the strict DevID and EK profiles: the verdict reports no tolerance
      expect((body as unknown as { tolerancesUsed: unknown[] }).tolerancesUsed).toEqual([])
      expect(checks.map((c) => c.name)).toEqual(
        expect.arrayContaining([expect.stringMatching(/certify/), expect.stringMatching(/activation|credential/)]),
      )
      expect(body.spiffeId).toBe(spiffeId)
      expect(body.attributes['tpm_devid.certificate.serial_number']).toBe(serialOf(leafPath))
      expect(body.attributes['tpm_devid.certificate.fingerprint']).toBe(
        new X509Certificate(vector(leafPath)).fingerprint.replace(/:/g, '').toLowerCase(),
      )
      // the SVID: our key, our ID, backdated 10 s, 1 h, chains to /v1/bundle
      const leaf = new X509Certificate(body.svid[0]!)
      expect(leaf.subjectAltName).toBe(`URI:${spiffeId}`)
      expect(leaf.publicKey.export({ type: 'spki', format: 'der' })).toEqual(Buffer.from(r.spki))
      // issued between t0 and t1 (whole seconds in X.509), backdated 10 s: the bounds hold however slow the machine is
      expect(Date.parse(leaf.validFrom)).toBeGreaterThanOrEqual(t0 - 11_000)
      expect(Date.parse(leaf.validFrom)).toBeLessThanOrEqual(t1 - 9_000)
      expect(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)).toBe(3_600_000 + 10_000)
      // half the lifetime from issuance (somewhere in [t0, t1])
      expect(Date.parse(body.reattestAfter)).toBeGreaterThanOrEqual((t0 + Date.parse(body.expiresAt)) / 2 - 1_000)
      expect(Date.parse(body.reattestAfter)).toBeLessThanOrEqual((t1 + Date.parse(body.expiresAt)) / 2 + 1_000)
      const bundle = parseSpiffeBundle(TRUST_DOMAIN, await (await fetch(`${server.url}/v1/bundle`)).text())
      const verified = await verifyX509Svid(body.svid.join(''), bundle)
      expect(verified.id.toString()).toBe(spiffeId)
      expect(leaf.verify(createPublicKey(await (await fetch(`${server.url}/v1/bundle.pem`)).text()))).toBe(true)
      expect(await metric('vouch_svids_issued_total')).toBe(before + 1)
      const authorized = logs.filter((l) => l.msg === 'Authorization received and verified').at(-1)!
      expect(authorized.spiffeId).toBe(spiffeId)
      expect(authorized.agentAttestationAttributes).toEqual(body.attributes)
      // the registry has the agent
      const shown = await cli(['agent', 'show', '--data-dir', files.dataDir, '--output', 'json', spiffeId])
      expect(shown.code).toBe(0)
      expect(JSON.parse(shown.out[0]!)).toMatchObject({ spiffeId, attestorType: 'tpm_devid', banned: false, attributes: body.attributes })
    })
  }

  it('the agent may send a PKCS#10 CSR instead of a public key: the SVID certifies the CSR key', async () => {
    const r = await attestOverHttp(server.url, b, evidenceSet('tpm-b-devid-rsa') as Record<string, string>, { csr: true })
    expect(r.answer?.status, JSON.stringify(r.answer?.body)).toBe(200)
    const leaf = new X509Certificate((r.answer!.body.svid as string[])[0]!)
    expect(leaf.publicKey.export({ type: 'spki', format: 'der' })).toEqual(Buffer.from(r.spki))
    expect(leaf.subject).not.toContain('agent')
  })

  it('logs never hold nonces, secrets or whole certificates', async () => {
    const r = await attestOverHttp(server.url, a, evidenceSet('tpm-a-devid-rsa') as Record<string, string>)
    expect(r.answer?.status).toBe(200)
    const text = JSON.stringify(logs)
    const ch = (r.start.body.challenges as Record<string, { DevID: string; CredActivation: { Credential: string; Secret: string } }>)
      .tpm_devid!
    for (const secret of [
      ch.DevID,
      ch.CredActivation.Secret,
      ch.CredActivation.Credential,
      (r.answerBody!.answers as Record<string, Record<string, string>>).tpm_devid!.CredActivation!,
    ]) {
      expect(text).not.toContain(secret)
    }
    expect(text).not.toContain('BEGIN CERTIFICATE')
    expect(text).not.toContain((evidenceSet('tpm-a-devid-rsa').DevIDCert as string[])[0]!.slice(0, 60))
  })
})

describe('e2e (Node): failures reach the agent and the log with the seed message', () => {
  it('DevID from another TPM', async () => {
    const r = await attestOverHttp(server.url, a, evidenceSet('bent-devid-from-other-tpm') as Record<string, string>)
    const res = r.answer ?? r.start
    expect(res.status).toBe(401)
    expect(res.body).toEqual({ code: 'ERR_DEVID_CERTIFICATION', message: 'DevID certification verification failed' })
    expect(failureLogged('DevID certification verification failed')).toBe(true)
  })

  it('EK cert copied from another TPM', async () => {
    const r = await attestOverHttp(server.url, a, evidenceSet('bent-ek-cert-other-tpm') as Record<string, string>)
    expect(r.start.status).toBe(401)
    expect(r.start.body).toEqual({ code: 'ERR_EK_MISMATCH', message: 'EK public key mismatch' })
    expect(failureLogged('EK public key mismatch')).toBe(true)
  })

  it('EK not trusted, and no matching policy (a server with another policy)', async () => {
    const f = writeServerFiles({ policy: policyDocument({ devIDCACerts: DEVID_ROOT, allowedEKHashes: ['ab'.repeat(32)] }) })
    const sink: Record<string, unknown>[] = []
    const s = await start(f, sink)
    try {
      const r = await attestOverHttp(s.url, a, evidenceSet('tpm-a-devid-rsa') as Record<string, string>)
      expect(r.start.status).toBe(401)
      expect(r.start.body).toEqual({ code: 'ERR_EK_UNTRUSTED', message: 'EK validation failed' })
      const none = await post(`${s.url}/v1/attest`, { providedMethods: ['tpm_ek'], evidence: { tpm_ek: evidenceSet('tpm-a-ek') } })
      expect(none).toEqual({
        status: 403,
        body: { code: 'ERR_POLICY_DENIED', message: 'no cluster policy authorizes the provided attestors' },
      })
      expect(sink.filter((l) => l.msg === 'Attestation failed').map((l) => l.message)).toEqual([
        'EK validation failed',
        'no cluster policy authorizes the provided attestors',
      ])
    } finally {
      await s.close()
    }
  })

  it('a replayed answer: unknown session ID', async () => {
    const r = await attestOverHttp(server.url, b, evidenceSet('tpm-b-devid-rsa') as Record<string, string>)
    expect(r.answer?.status).toBe(200)
    const replay = await post(`${server.url}/v1/attest/${r.sessionId}/answer`, r.answerBody)
    expect(replay).toEqual({ status: 404, body: { code: 'ERR_SESSION_UNKNOWN', message: 'unknown session ID' } })
    expect(failureLogged('unknown session ID')).toBe(true)
  })

  it('an expired session (server clock injected 6 minutes on)', async () => {
    try {
      const r = await attestOverHttp(server.url, b, evidenceSet('tpm-b-devid-rsa') as Record<string, string>, {
        beforeAnswer: () => void (clock.offset = 6 * 60_000),
      })
      expect(r.answer).toEqual({ status: 410, body: { code: 'ERR_SESSION_EXPIRED', message: 'attestation session expired' } })
      expect(failureLogged('attestation session expired')).toBe(true)
    } finally {
      clock.offset = 0
    }
  })

  it('a swapped SVID key (a party in the middle replaces the public key): DevID signature fails, nothing issued', async () => {
    const attacker = await newKey()
    const before = await metric('vouch_svids_issued_total')
    const r = await attestOverHttp(server.url, a, evidenceSet('tpm-a-devid-p256') as Record<string, string>, {
      swapPublicKey: attacker.spki,
      swapSigner: attacker.keyPair,
    })
    expect(r.answer).toEqual({ status: 401, body: { code: 'ERR_DEVID_SIGNATURE', message: 'DevID signature verification failed' } })
    expect(failureLogged('DevID signature verification failed')).toBe(true)
    expect(await metric('vouch_svids_issued_total')).toBe(before)
  })

  it('a banned agent is refused with a clear error (ban and unban through the CLI on the data dir)', async () => {
    const ok = await attestOverHttp(server.url, b, evidenceSet('tpm-b-devid-rsa') as Record<string, string>)
    const id = ok.answer!.body.spiffeId as string
    expect((await cli(['agent', 'ban', '--data-dir', files.dataDir, id])).out).toEqual([`banned ${id}`])
    const listed = await cli(['agent', 'list', '--server-config', files.configPath])
    expect(listed.out.find((l) => l.startsWith(id))).toMatch(/\tBANNED$/)
    const before = await metric('vouch_svids_issued_total')
    const r = await attestOverHttp(server.url, b, evidenceSet('tpm-b-devid-rsa') as Record<string, string>)
    expect(r.answer).toEqual({ status: 403, body: { code: 'ERR_AGENT_BANNED', message: 'agent is banned' } })
    expect(failureLogged('agent is banned')).toBe(true)
    expect(await metric('vouch_svids_issued_total')).toBe(before)
    expect((await cli(['agent', 'unban', '--data-dir', files.dataDir, id])).code).toBe(0)
    expect((await attestOverHttp(server.url, b, evidenceSet('tpm-b-devid-rsa') as Record<string, string>)).answer?.status).toBe(200)
    expect((await cli(['agent', 'ban', '--data-dir', files.dataDir, 'spiffe://example.org/nobody'])).code).toBe(1)
  })
})

describe('e2e (Node): TLS', () => {
  it('serves https with a certificate from its CA; an agent trusting only the CA attests', async () => {
    const f = writeServerFiles({ tls: true })
    const s = await start(f, [])
    try {
      expect(s.url).toMatch(/^https:/)
      const caf = caFetch(readFileSync(join(f.dataDir, 'ca', 'ca.pem'), 'utf8'))
      await expect(fetch(`${s.url}/livez`)).rejects.toThrow()
      const r = await attestOverHttp(s.url, a, evidenceSet('tpm-a-devid-p256') as Record<string, string>, { fetch: caf })
      expect(r.answer?.status).toBe(200)
    } finally {
      await s.close()
    }
  })
})

describe('e2e (Node): load, restart', () => {
  it('4 agents (4 swtpm instances) x 25 attestations at once: no errors, no leaked sessions, memory flat', async () => {
    const extra = await Promise.all([LiveAgent.start('tpm-a'), LiveAgent.start('tpm-b')])
    try {
      const agents: [LiveAgent, string][] = [
        [a, 'tpm-a-devid-rsa'],
        [b, 'tpm-b-devid-rsa'],
        [extra[0], 'tpm-a-devid-p256'],
        [extra[1], 'tpm-b-devid-rsa'],
      ]
      const round = async (n: number) => {
        const results = await Promise.all(
          agents.map(async ([agent, set]) => {
            const statuses: number[] = []
            for (let i = 0; i < n; i++)
              statuses.push((await attestOverHttp(server.url, agent, evidenceSet(set) as Record<string, string>)).answer?.status ?? 0)
            return statuses
          }),
        )
        return results.flat()
      }
      const before = await metric('vouch_svids_issued_total')
      expect(new Set(await round(5))).toEqual(new Set([200]))
      const heap0 = process.memoryUsage().heapUsed
      expect(new Set(await round(20))).toEqual(new Set([200]))
      const heap1 = process.memoryUsage().heapUsed
      expect(await metric('vouch_svids_issued_total')).toBe(before + 100)
      expect(await metric('vouch_sessions_active')).toBe(0)
      expect(heap1 - heap0).toBeLessThan(64 * 1024 * 1024)
    } finally {
      await Promise.all(extra.map((x) => x.stop()))
    }
  }, 120_000)

  it('a restart keeps the registry and the CA (key file 0600)', async () => {
    const bundleBefore = await (await fetch(`${server.url}/v1/bundle`)).text()
    const listBefore = await cli(['agent', 'list', '--data-dir', files.dataDir, '--output', 'json'])
    await server.close()
    server = await start()
    expect(await (await fetch(`${server.url}/v1/bundle`)).text()).toBe(bundleBefore)
    const listAfter = await cli(['agent', 'list', '--data-dir', files.dataDir, '--output', 'json'])
    expect(listAfter.out).toEqual(listBefore.out)
    expect(JSON.parse(listAfter.out[0]!).length).toBeGreaterThanOrEqual(3)
    expect(statSync(join(files.dataDir, 'ca', 'ca.key')).mode & 0o777).toBe(0o600)
    expect(readFileSync(join(files.dataDir, 'ca', 'ca.key'), 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/)
    const r = await attestOverHttp(server.url, a, evidenceSet('tpm-a-devid-rsa') as Record<string, string>)
    expect(r.answer?.status).toBe(200)
  })
})
