/**
 * A minimal gRPC client over HTTP/2 on a unix socket (node:http2) for tests of the agent socket:
 * unary calls, server streams and bidirectional streams, with the raw status and message of the
 * trailers. It frames and deframes with core/workload's helpers and sends whatever headers the test
 * asks for (or none), so malformed calls can be made on purpose. Test support only.
 */
import { connect as h2connect, type ClientHttp2Session, type ClientHttp2Stream, type OutgoingHttpHeaders } from 'node:http2'
import { connect as netConnect } from 'node:net'
import { decodeGrpcMessage, frameMessage, GrpcDeframer, parseGrpcStatus } from '../../core/workload/index.ts'

export interface GrpcStatusResult {
  readonly status: number
  readonly message: string
  /** the HTTP :status */
  readonly httpStatus: number
}

export const SPIFFE_HEADER = { 'workload.spiffe.io': 'true' } as const

export class GrpcStream {
  private readonly queue: Uint8Array[] = []
  private waiters: (() => void)[] = []
  private readonly deframer = new GrpcDeframer(16 * 1024 * 1024)
  readonly done: Promise<GrpcStatusResult>
  private httpStatus = 0
  private finished = false

  constructor(readonly stream: ClientHttp2Stream) {
    let headerStatus: { status: number; message: string } | undefined
    stream.on('response', (headers) => {
      this.httpStatus = Number(headers[':status'])
      if (headers['grpc-status'] !== undefined) {
        headerStatus = {
          status: parseGrpcStatus(String(headers['grpc-status'])),
          message: decodeGrpcMessage(headers['grpc-message'] as string | undefined),
        }
      }
    })
    stream.on('data', (chunk: Buffer) => {
      for (const m of this.deframer.push(new Uint8Array(chunk))) this.queue.push(m)
      this.wake()
    })
    this.done = new Promise((resolve) => {
      let trailers: { status: number; message: string } | undefined
      stream.on('trailers', (t) => {
        trailers = {
          status: parseGrpcStatus(String(t['grpc-status'])),
          message: decodeGrpcMessage(t['grpc-message'] as string | undefined),
        }
      })
      stream.on('error', () => {})
      stream.on('close', () => {
        this.finished = true
        this.wake()
        const s = trailers ?? headerStatus ?? { status: -1, message: `stream closed (rst ${stream.rstCode})` }
        resolve({ ...s, httpStatus: this.httpStatus })
      })
    })
    stream.resume()
  }

  private wake(): void {
    const w = this.waiters
    this.waiters = []
    for (const f of w) f()
  }

  /** The next response message, or undefined when the stream ended first. */
  async next(timeoutMs = 5000): Promise<Uint8Array | undefined> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (this.queue.length > 0) return this.queue.shift()
      if (this.finished) return undefined
      const left = deadline - Date.now()
      if (left <= 0) throw new Error('timed out waiting for a response message')
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left)
        this.waiters.push(() => {
          clearTimeout(t)
          resolve()
        })
      })
    }
  }

  /** Messages received and not yet taken. */
  pending(): number {
    return this.queue.length
  }

  send(message: Uint8Array): void {
    this.stream.write(frameMessage(message))
  }

  sendRaw(bytes: Uint8Array): void {
    this.stream.write(bytes)
  }

  end(): void {
    this.stream.end()
  }

  cancel(): void {
    this.stream.close(8) // NGHTTP2_CANCEL
  }
}

export class GrpcTestClient {
  private constructor(readonly session: ClientHttp2Session) {}

  static connect(socketPath: string): Promise<GrpcTestClient> {
    return new Promise((resolve, reject) => {
      const session = h2connect('http://localhost', { createConnection: () => netConnect(socketPath) })
      session.once('connect', () => resolve(new GrpcTestClient(session)))
      session.once('error', reject)
      session.once('close', () => reject(new Error('the connection closed before HTTP/2 was set up')))
    })
  }

  /** Opens a call; `request` (when given) is sent and, unless `keepOpen`, the request side ends. */
  open(
    method: string,
    request?: Uint8Array,
    options: { headers?: Record<string, string>; keepOpen?: boolean; contentType?: string | null } = {},
  ): GrpcStream {
    const headers: OutgoingHttpHeaders = {
      ':method': 'POST',
      ':path': method,
      te: 'trailers',
      ...(options.contentType === null ? {} : { 'content-type': options.contentType ?? 'application/grpc' }),
      ...(options.headers ?? SPIFFE_HEADER),
    }
    const s = new GrpcStream(this.session.request(headers, { endStream: false }))
    if (request) s.send(request)
    if (!options.keepOpen) s.end()
    return s
  }

  /** A unary call: every response message and the status. */
  async unary(
    method: string,
    request: Uint8Array,
    headers?: Record<string, string>,
  ): Promise<GrpcStatusResult & { messages: Uint8Array[] }> {
    const s = this.open(method, request, headers ? { headers } : {})
    const status = await s.done
    const messages: Uint8Array[] = []
    for (let m = await s.next(0).catch(() => undefined); m !== undefined; m = await s.next(0).catch(() => undefined)) messages.push(m)
    return { ...status, messages }
  }

  close(): void {
    this.session.close()
  }

  destroy(): void {
    this.session.destroy()
  }
}
