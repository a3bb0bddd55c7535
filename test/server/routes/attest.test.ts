/**
 * What an operator reads when an attestation fails (issue 12 item 7), over a real socket
 * (@hono/node-server) and a live swtpm agent: the "Attestation failed" line names the check, the
 * certificate (subject, serial, fingerprint, issuer), the date, the client address and the agent's
 * identity, while the agent gets only the seed's code and message; and no log line of a passing
 * or failing attestation carries the nonce, the activation secret or its proof, in hex or base64.
 */
import { createHash, createHmac, sign as cryptoSign, generateKeyPairSync } from 'node:crypto'
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeSvidKeyProofMessage } from '../../../core/attestation/svid-key.ts'
import { DEVID_INT, devidPolicy, EK_INT, EK_ROOT, policies, vector } from '../../core/attestation/fixtures.ts'
import { evidenceSet, LiveAgent } from '../../core/attestation/live-agent.ts'
import { makeTestServer, TEMPLATE } from '../harness.ts'

type Logs = Record<string, unknown>[]
type TestServer = Awaited<ReturnType<typeof makeTestServer>>

let agent: LiveAgent
beforeAll(async () => {
  agent = await LiveAgent.start('tpm-a')
}, 60_000)
afterAll(async () => {
  await agent?.stop()
})

async function listen(s: TestServer): Promise<{ url: string; close: () => Promise<void> }> {
  const server = await new Promise<ServerType>((resolve) => {
    const srv: ServerType = serve({ fetch: s.app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(srv))
  })
  const port = (server.address() as AddressInfo).port
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) }
}

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, json: (await res.json()) as Record<string, unknown> }
}

const EV = evidenceSet('tpm-a-devid-rsa') as Record<string, string>
const LEAF_SHA256 = createHash('sha256').update(vector('tpm-a/devid-rsa.crt.der')).digest('hex')

/** Every form a secret could take in a log line. */
function forms(bytes: Uint8Array): string[] {
  const b = Buffer.from(bytes)
  return [b.toString('hex'), b.toString('base64'), b.toString('base64url'), b.toString('base64').replace(/=+$/, '')]
}

function expectNoSecret(logs: Logs, secrets: Uint8Array[]): void {
  const text = logs.map((l) => JSON.stringify(l)).join('\n')
  for (const s of secrets) for (const f of forms(s)) expect(text.toLowerCase()).not.toContain(f.toLowerCase())
}

const failed = (logs: Logs) => logs.filter((l) => l.msg === 'Attestation failed')

interface Run {
  readonly challenge: { DevID: string; CredActivation: { Credential: string; Secret: string } }
  readonly sessionId: string
  readonly secrets: Uint8Array[]
}

/** POST /v1/attest, then activate the credential on the TPM; the secrets are what must never be logged. */
async function start(url: string): Promise<Run> {
  const r = await post(`${url}/v1/attest`, { providedMethods: ['tpm_devid'], evidence: { tpm_devid: EV } })
  expect(r.status).toBe(200)
  const challenge = (r.json.challenges as Record<string, Run['challenge']>).tpm_devid!
  const secret = await agent.activate(challenge.CredActivation, EV.AKPub!, EV.EKPub!)
  const b64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'))
  return {
    challenge,
    sessionId: r.json.sessionId as string,
    secrets: [b64(challenge.DevID), secret, b64(challenge.CredActivation.Secret), b64(challenge.CredActivation.Credential)],
  }
}

describe('attest routes: the failure line an operator can act on, and no secret in any line', () => {
  it('a passing attestation: client address logged; nonce, secret, proof and credential nowhere in the logs', async () => {
    const s = await makeTestServer()
    const srv = await listen(s)
    try {
      const run = await start(srv.url)
      const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      const spki = new Uint8Array(publicKey.export({ type: 'spki', format: 'der' }))
      const binding = new Uint8Array(createHash('sha256').update(spki).digest())
      const proof = new Uint8Array(createHmac('sha256', run.secrets[1]!).update(binding).digest())
      const nonce = run.secrets[0]!
      const signature = await agent.sign(EV.DevIDPub!, new Uint8Array([...nonce, ...binding]))
      // proof of possession of the new key (ECDSA P-256, r || s), as the agent sends it
      const keyProof = new Uint8Array(
        cryptoSign('sha256', makeSvidKeyProofMessage(run.sessionId, binding), { key: privateKey, dsaEncoding: 'ieee-p1363' }),
      )
      const r = await post(`${srv.url}/v1/attest/${run.sessionId}/answer`, {
        answers: { tpm_devid: { DevID: Buffer.from(signature).toString('base64'), CredActivation: Buffer.from(proof).toString('base64') } },
        publicKey: Buffer.from(spki).toString('base64'),
        keyProof: Buffer.from(keyProof).toString('base64'),
      })
      expect(r.status).toBe(200)
      expect(r.json.verdict).toBe('ok')
      expect(failed(s.logs)).toEqual([])
      expect(s.logs.find((l) => l.msg === 'Connected to agent')!.client).toBe('127.0.0.1')
      expect(s.logs.find((l) => l.msg === 'Authorization received and verified')!.client).toBe('127.0.0.1')
      expectNoSecret(s.logs, [...run.secrets, proof, signature, keyProof])
    } finally {
      await srv.close()
    }
  }, 60_000)

  it('a wrong activation proof: the agent gets the seed message; the log names the check, the client and the agent', async () => {
    const s = await makeTestServer()
    const srv = await listen(s)
    try {
      const run = await start(srv.url)
      const bent = Uint8Array.from(run.secrets[1]!, (b, i) => (i === 0 ? b ^ 1 : b))
      const signature = await agent.sign(EV.DevIDPub!, run.secrets[0]!)
      const r = await post(`${srv.url}/v1/attest/${run.sessionId}/answer`, {
        answers: { tpm_devid: { DevID: Buffer.from(signature).toString('base64'), CredActivation: Buffer.from(bent).toString('base64') } },
      })
      expect(r.status).toBe(401)
      expect(r.json).toEqual({ code: 'ERR_CREDENTIAL_MISMATCH', message: 'credential activation secret does not match' })
      const [line, ...more] = failed(s.logs)
      expect(more).toEqual([])
      expect(line).toMatchObject({
        level: 'warn',
        phase: 'answer',
        client: '127.0.0.1',
        code: 'ERR_CREDENTIAL_MISMATCH',
        message: 'credential activation secret does not match',
        check: 'tpm_devid.credential_activation',
        agent: { devIdFingerprint: LEAF_SHA256, devIdSerial: 'b25c684b97ccda88', ekHash: expect.stringMatching(/^[0-9a-f]{64}$/) },
        detail: { expectedLength: 32, presentedLength: 32 },
      })
      expectNoSecret(s.logs, [...run.secrets, bent, signature])
    } finally {
      await srv.close()
    }
  }, 60_000)

  it('an untrusted DevID chain: which certificate (subject, serial, fingerprint), which issuer, which check', async () => {
    // devIDCACerts holds a CA that issued neither the leaf nor its intermediate
    const s = await makeTestServer({
      policies: policies(devidPolicy({ devIDCACerts: EK_ROOT, endorsementCACerts: EK_ROOT + EK_INT }, { spiffeIDTemplate: TEMPLATE })),
    })
    const srv = await listen(s)
    try {
      const r = await post(`${srv.url}/v1/attest`, { providedMethods: ['tpm_devid'], evidence: { tpm_devid: EV } })
      expect(r.status).toBe(401)
      expect(r.json).toEqual({ code: 'ERR_DEVID_CHAIN', message: 'verify DevID certificate chain' })
      const line = failed(s.logs)[0]!
      expect(line).toMatchObject({
        phase: 'evidence',
        client: '127.0.0.1',
        code: 'ERR_DEVID_CHAIN',
        check: 'tpm_devid.devid.chain',
        agent: { devIdFingerprint: LEAF_SHA256, devIdSerial: 'b25c684b97ccda88' },
      })
      expect(line.detail).toEqual({
        depth: 0,
        subject: 'O=vouch test,2.5.4.5=TPM-A-DEVID-RSA,CN=tpm-a-devid-rsa',
        issuer: 'O=vouch test,CN=vouch test DevID Intermediate CA',
        serial: 'b25c684b97ccda88',
        fingerprint: LEAF_SHA256,
        attribute: 'issuer',
      })
      expect(line.reason).toMatch(/^ERR_X509_NO_PATH: certificate at depth 0 \(CN=tpm-a-devid-rsa\): no trust anchor/)
    } finally {
      await srv.close()
    }
  }, 60_000)

  it('an expired DevID leaf: the date it expired and the time it was checked at', async () => {
    const s = await makeTestServer({
      policies: policies(devidPolicy({ devIDCACerts: DEVID_INT, endorsementCACerts: EK_ROOT + EK_INT }, { spiffeIDTemplate: TEMPLATE })),
    })
    s.clock.offset = 20 * 365 * 24 * 3600 * 1000
    const srv = await listen(s)
    try {
      const r = await post(`${srv.url}/v1/attest`, { providedMethods: ['tpm_devid'], evidence: { tpm_devid: EV } })
      expect(r.json).toEqual({ code: 'ERR_DEVID_CHAIN', message: 'verify DevID certificate chain' })
      const line = failed(s.logs)[0]!
      expect(line.check).toBe('tpm_devid.devid.chain')
      expect(line.detail).toMatchObject({
        depth: 0,
        subject: 'O=vouch test,2.5.4.5=TPM-A-DEVID-RSA,CN=tpm-a-devid-rsa',
        serial: 'b25c684b97ccda88',
        fingerprint: LEAF_SHA256,
        attribute: 'notAfter',
        notAfter: '2036-11-20T04:21:45.000Z',
        checkedAt: expect.stringMatching(/^20(4|5)\d-/),
      })
    } finally {
      await srv.close()
    }
  }, 60_000)
})
