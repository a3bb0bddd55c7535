// HTTP client of the agent for the v1 protocol (docs/protocol.md): POST /v1/attest, POST
// /v1/attest/{sessionId}/answer. HTTPS trusts only `trustBundlePath` (node:https with `ca`);
// http:// is refused unless `allowInsecureHttp` (agent.insecureHttp) says otherwise.
import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'
import type { WireChallenge } from '../core/attestation/wire.ts'

export interface ServerError {
  status: number
  code?: string
  message: string
}

export class ProtocolError extends Error {
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
    /** the response's Retry-After header, as sent (agent/failover.ts reads it) */
    readonly retryAfter?: string,
  ) {
    super(message)
    this.name = 'ProtocolError'
  }
}

/** The request got no HTTP answer: refused, reset, timed out, or the TLS handshake failed. */
export class ConnectionError extends Error {
  constructor(
    readonly origin: string,
    cause: Error,
  ) {
    super(`${origin}: ${cause.message}`, { cause })
    this.name = 'ConnectionError'
  }
}

export interface AttestResponse {
  sessionId: string
  expiresAt: string
  challenges: Record<string, WireChallenge>
}

export interface AnswerResponse {
  verdict: string
  policy?: string
  checks?: { name: string; ok: boolean; detail: string }[]
  spiffeId: string
  attributes?: Record<string, string>
  svid: string[]
  bundle: string
  expiresAt: string
  reattestAfter: string
}

export class AgentHttpClient {
  constructor(
    readonly baseUrl: string,
    private readonly caPem?: string,
    private readonly timeoutMs = 30_000,
    private readonly allowInsecureHttp = false,
  ) {}

  post<T>(path: string, body: unknown): Promise<T> {
    const url = new URL(path.replace(/^\//, ''), this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`)
    const data = JSON.stringify(body)
    const isHttps = url.protocol === 'https:'
    if (isHttps && !this.caPem) return Promise.reject(new Error('agent.trustBundlePath is required for an https server'))
    if (!isHttps && !(url.protocol === 'http:' && this.allowInsecureHttp))
      return Promise.reject(new Error(`refusing ${url.protocol}// to ${url.host}: only https:// unless agent.insecureHttp is set`))
    const req = isHttps ? httpsRequest : httpRequest
    return new Promise((resolve, reject) => {
      const r = req(
        url,
        {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
          timeout: this.timeoutMs,
          ...(isHttps ? { ca: this.caPem } : {}),
        },
        (res) => {
          const chunks: Buffer[] = []
          // the server gone in the middle of its response
          res.on('error', (e) => reject(new ConnectionError(url.origin, e)))
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8')
            let json: unknown
            try {
              json = JSON.parse(text)
            } catch {
              json = undefined
            }
            const status = res.statusCode ?? 0
            if (status >= 200 && status < 300 && json) return resolve(json as T)
            const e = (json ?? {}) as { code?: string; message?: string }
            const retryAfter = res.headers['retry-after']
            reject(
              new ProtocolError(
                status,
                e.code,
                `${url.pathname}: HTTP ${status}${e.code ? ` ${e.code}` : ''}: ${e.message ?? text.slice(0, 200)}`,
                typeof retryAfter === 'string' ? retryAfter : undefined,
              ),
            )
          })
        },
      )
      r.on('timeout', () => r.destroy(new Error(`no answer in ${this.timeoutMs} ms`)))
      r.on('error', (e) => reject(new ConnectionError(url.origin, e)))
      r.end(data)
    })
  }

  attest(providedMethods: string[], evidence: Record<string, unknown>): Promise<AttestResponse> {
    return this.post('/v1/attest', { providedMethods, evidence })
  }

  /** `keyProof`: the new key's signature over the session binding (core/attestation/svid-key.ts) */
  answer(sessionId: string, answers: Record<string, unknown>, publicKey: Uint8Array, keyProof: Uint8Array): Promise<AnswerResponse> {
    return this.post(`/v1/attest/${encodeURIComponent(sessionId)}/answer`, {
      answers,
      publicKey: Buffer.from(publicKey).toString('base64'),
      keyProof: Buffer.from(keyProof).toString('base64'),
    })
  }
}
