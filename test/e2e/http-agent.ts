/**
 * A test agent over HTTP: the LiveAgent (a fixture swtpm answering with tpm2-tools) speaking the
 * v1 protocol to a running server with fetch, binding a fresh P-256 key to the attestation and
 * proving it holds that key (keyProof).
 * Knobs make it misbehave like a party in the middle.
 */
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeSvidKeyProofMessage } from '../../core/attestation/svid-key.ts'
import type { LiveAgent } from '../core/attestation/live-agent.ts'

/**
 * A fetch over node:http with request options global fetch lacks: `localAddress` (127.0.0.0/8 is
 * all local on Linux, so each address is another client) and `agent: false` (a new connection per
 * request, spread over node:cluster workers).
 */
export function nodeHttpFetch(options: { readonly localAddress?: string; readonly agent?: false }): typeof fetch {
  return ((url: string, init: RequestInit = {}) =>
    new Promise<Response>((resolve, reject) => {
      const req = request(url, { method: init.method ?? 'GET', headers: init.headers as Record<string, string>, ...options }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0 })))
      })
      req.on('error', reject)
      if (init.body !== undefined) req.write(init.body as string)
      req.end()
    })) as typeof fetch
}

export interface HttpResult {
  readonly status: number
  readonly body: Record<string, unknown>
}

export interface AttestOutcome {
  readonly start: HttpResult
  readonly answer?: HttpResult
  /** the answer request body, to replay */
  readonly answerBody?: Record<string, unknown>
  readonly sessionId?: string
  readonly keyPair: CryptoKeyPair
  readonly spki: Uint8Array
}

export interface AttestOptions {
  /** send this SPKI instead of the agent's (a key swapped in the middle) */
  readonly swapPublicKey?: Uint8Array
  /** stop after the challenge */
  readonly startOnly?: boolean
  /** run between the challenge and the answer (advance a clock, kill a server) */
  readonly beforeAnswer?: () => Promise<void> | void
  readonly fetch?: typeof fetch
  /** send a PKCS#10 CSR (made by openssl for a fresh P-256 key) instead of the bare public key */
  readonly csr?: boolean
  /** the key pair that signs the keyProof (default: the agent's); a party in the middle signs with its own */
  readonly swapSigner?: CryptoKeyPair
  /**
   * an attested agent asking for an SVID over a key it does not hold (another party's SPKI): its
   * TPM proofs bind this key and it is sent, the keyProof is signed with the agent's own key
   */
  readonly foreignKey?: Uint8Array
  /** the keyProof to send with publicKey: omitted (`false`), these bytes, or (default) a signature */
  readonly keyProof?: false | Uint8Array
  /** send the answer to another server (a replica) than the one that gave the challenge */
  readonly answerBase?: string
}

/** A fresh P-256 key's CSR (DER) and SPKI (DER), both written by openssl. */
export function opensslCsr(): { csr: Uint8Array; spki: Uint8Array } {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-agent-csr-'))
  const key = join(dir, 'k.pem')
  execFileSync(
    'openssl',
    [
      'req',
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      key,
      '-out',
      join(dir, 'r.der'),
      '-outform',
      'DER',
      '-subj',
      '/CN=agent',
    ],
    { stdio: 'ignore' },
  )
  execFileSync('openssl', ['pkey', '-in', key, '-pubout', '-outform', 'DER', '-out', join(dir, 'spki.der')])
  return { csr: new Uint8Array(readFileSync(join(dir, 'r.der'))), spki: new Uint8Array(readFileSync(join(dir, 'spki.der'))) }
}

export async function newKey(): Promise<{ keyPair: CryptoKeyPair; spki: Uint8Array }> {
  const keyPair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
  return { keyPair, spki: new Uint8Array(await crypto.subtle.exportKey('spki', keyPair.publicKey)) }
}

export async function post(url: string, body: unknown, f: typeof fetch = fetch): Promise<HttpResult> {
  const res = await f(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

export async function attestOverHttp(
  base: string,
  agent: LiveAgent,
  evidence: Record<string, string | string[]>,
  o: AttestOptions = {},
): Promise<AttestOutcome> {
  const f = o.fetch ?? fetch
  const { keyPair, spki: webSpki } = await newKey()
  const csr = o.csr ? opensslCsr() : undefined
  const spki = csr?.spki ?? webSpki
  const start = await post(`${base}/v1/attest`, { providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidence } }, f)
  if (start.status !== 200 || o.startOnly) return { start, keyPair, spki }
  const sessionId = start.body.sessionId as string
  const challenge = (start.body.challenges as Record<string, Record<string, unknown>>).tpm_devid!
  const sha256 = (b: Uint8Array) => new Uint8Array(createHash('sha256').update(b).digest())
  const binding = sha256(o.foreignKey ?? spki)
  const answers = {
    tpm_devid: await agent.answer(challenge, {
      devIdPub: evidence.DevIDPub as string,
      akPub: evidence.AKPub as string,
      ekPub: evidence.EKPub as string,
      binding,
    }),
  }
  await o.beforeAnswer?.()
  const sent = o.foreignKey ?? o.swapPublicKey ?? spki
  const signer = o.swapSigner ?? keyPair
  const keyProof =
    o.keyProof === undefined
      ? new Uint8Array(
          await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, signer.privateKey, makeSvidKeyProofMessage(sessionId, sha256(sent))),
        )
      : o.keyProof
  const answerBody = csr
    ? { answers, csr: Buffer.from(csr.csr).toString('base64') }
    : {
        answers,
        publicKey: Buffer.from(sent).toString('base64'),
        ...(keyProof ? { keyProof: Buffer.from(keyProof).toString('base64') } : {}),
      }
  const answer = await post(`${o.answerBase ?? base}/v1/attest/${sessionId}/answer`, answerBody, f)
  return { start, answer, answerBody, sessionId, keyPair, spki }
}
