/**
 * The agent's mTLS client for the server's workload routes (server/routes/workload.ts): every
 * call presents the node X.509-SVID as the client certificate and trusts only the server CA the
 * attestation trusts. One fresh TLS connection per call (no pool), so a rotated node SVID is used
 * at once. Bodies are bounded; errors carry the HTTP status and the server's ERR_ code, never a key.
 */
import { request } from 'node:https'
import { ProtocolError } from '../http.ts'

/** The agent's node identity as the last attestation left it (PEM). */
export interface NodeCredentials {
  /** the node SPIFFE ID (spiffe://td/agent/...) */
  readonly spiffeId: string
  /** the node X.509-SVID chain, leaf first */
  readonly certificatePem: string
  /** its PKCS#8 private key */
  readonly privateKeyPem: string
  /** the roots the server's TLS certificate must chain to */
  readonly serverCaPem: string
}

/** An answer larger than this is refused (1,000 entries of a few hundred bytes fit with room). */
export const MAX_RESPONSE_BYTES = 4 * 1024 * 1024

export class WorkloadServerClient {
  constructor(
    readonly baseUrl: string,
    private readonly timeoutMs = 15_000,
  ) {
    if (new URL(baseUrl).protocol !== 'https:') throw new Error(`workload SVIDs need an https:// server (mTLS), found ${baseUrl}`)
  }

  /** GET or POST a JSON body, presenting the node SVID; the JSON object answered. */
  async call<T>(node: NodeCredentials, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
    const text = await this.send(node, method, path, body, true)
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      json = undefined
    }
    if (!json || typeof json !== 'object' || Array.isArray(json))
      throw new ProtocolError(200, undefined, `${method} ${path}: not a JSON object`)
    return json as T
  }

  /** The text of a public route (GET /v1/bundle), over TLS to the server CA, with no client certificate. */
  getText(node: NodeCredentials, path: string): Promise<string> {
    return this.send(node, 'GET', path, undefined, false)
  }

  private send(node: NodeCredentials, method: 'GET' | 'POST', path: string, body: unknown, clientCertificate: boolean): Promise<string> {
    const url = new URL(path.replace(/^\//, ''), this.baseUrl.endsWith('/') ? this.baseUrl : `${this.baseUrl}/`)
    const data = body === undefined ? undefined : JSON.stringify(body)
    return new Promise<string>((resolve, reject) => {
      const r = request(
        url,
        {
          method,
          agent: false,
          timeout: this.timeoutMs,
          ca: node.serverCaPem,
          ...(clientCertificate ? { cert: node.certificatePem, key: node.privateKeyPem } : {}),
          headers: data === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) },
        },
        (res) => {
          const chunks: Buffer[] = []
          let size = 0
          res.on('data', (c: Buffer) => {
            size += c.length
            if (size > MAX_RESPONSE_BYTES) {
              res.destroy()
              reject(new ProtocolError(res.statusCode ?? 0, undefined, `${url.pathname}: answer larger than ${MAX_RESPONSE_BYTES} bytes`))
              return
            }
            chunks.push(c)
          })
          res.on('end', () => {
            if (size > MAX_RESPONSE_BYTES) return
            const text = Buffer.concat(chunks).toString('utf8')
            const status = res.statusCode ?? 0
            if (status >= 200 && status < 300) return resolve(text)
            let json: unknown
            try {
              json = JSON.parse(text)
            } catch {
              json = undefined
            }
            const e = (json ?? {}) as { code?: unknown; message?: unknown }
            const code = typeof e.code === 'string' ? e.code.slice(0, 64) : undefined
            const message = typeof e.message === 'string' ? e.message.slice(0, 300) : text.slice(0, 200)
            reject(new ProtocolError(status, code, `${method} ${url.pathname}: HTTP ${status}${code ? ` ${code}` : ''}: ${message}`))
          })
          res.on('error', reject)
        },
      )
      r.on('timeout', () => r.destroy(new Error(`${url.origin}: no answer in ${this.timeoutMs} ms`)))
      r.on('error', reject)
      r.end(data)
    })
  }
}
