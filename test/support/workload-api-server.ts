/**
 * A test SPIFFE Workload API server (node:http2 + core/workload's codec) that misbehaves on
 * purpose: tests script each call (answer, push, end with any status, send broken frames, ignore
 * the security header) and read the record of every call (method, metadata, request, status), as
 * the conformance catalogue's mock server does (methodology §2.3).
 *
 * Listens on a unix socket in a temp dir (`address` is `unix://<path>`) or on TCP 127.0.0.1.
 * Without a handler, a streaming method keeps the call open (push to it with {@link push}) and a
 * unary method answers UNIMPLEMENTED.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import http2 from 'node:http2'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { GrpcDeframer, frameMessage } from '../../core/workload/grpc-frame.ts'
import { GrpcStatus, type GrpcStatusCode, encodeGrpcMessage } from '../../core/workload/grpc-status.ts'
import { WORKLOAD_API_HEADER, WorkloadApiMethod } from '../../core/workload/service.ts'

export interface RecordedCall {
  readonly method: string
  /** the value of the workload.spiffe.io header, undefined when absent */
  readonly securityHeader: string | undefined
  readonly contentType: string | undefined
  request: Uint8Array | undefined
  status: GrpcStatusCode | undefined
}

export class ServerCall {
  private responded = false
  private trailers: { code: GrpcStatusCode; message: string } | undefined
  ended = false

  constructor(
    readonly stream: http2.ServerHttp2Stream,
    readonly record: RecordedCall,
    readonly request: Uint8Array,
  ) {}

  get method(): string {
    return this.record.method
  }

  private respond(): void {
    if (this.responded) return
    this.responded = true
    this.stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true })
    this.stream.on('wantTrailers', () => {
      const t = this.trailers ?? { code: GrpcStatus.OK, message: '' }
      this.stream.sendTrailers({ 'grpc-status': String(t.code), ...(t.message ? { 'grpc-message': encodeGrpcMessage(t.message) } : {}) })
    })
  }

  /** Sends one message (encoded protobuf), framed. */
  send(message: Uint8Array): void {
    this.writeRaw(frameMessage(message))
  }

  /** Sends bytes as they are (broken frames). */
  writeRaw(bytes: Uint8Array): void {
    if (this.ended || this.stream.closed || this.stream.destroyed) return
    this.respond()
    this.stream.write(bytes)
  }

  /** Ends the call with a status: in trailers, or trailers-only when nothing was sent yet. */
  end(code: GrpcStatusCode = GrpcStatus.OK, message = ''): void {
    if (this.ended || this.stream.closed || this.stream.destroyed) return
    this.ended = true
    this.record.status = code
    if (!this.responded) {
      this.responded = true
      this.stream.respond(
        {
          ':status': 200,
          'content-type': 'application/grpc',
          'grpc-status': String(code),
          ...(message ? { 'grpc-message': encodeGrpcMessage(message) } : {}),
        },
        { endStream: true },
      )
      return
    }
    this.trailers = { code, message }
    this.stream.end()
  }

  /** Answers with a bare HTTP status and no grpc-status. */
  httpError(status: number): void {
    if (this.ended) return
    this.ended = true
    this.responded = true
    this.stream.respond({ ':status': status }, { endStream: true })
  }

  /** Resets the HTTP/2 stream. */
  reset(): void {
    this.ended = true
    this.stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR)
  }
}

export type CallHandler = (call: ServerCall) => void

export class TestWorkloadApiServer {
  readonly calls: RecordedCall[] = []
  private readonly open = new Set<ServerCall>()
  private readonly handlers = new Map<string, CallHandler>()
  private readonly server: http2.Http2Server
  private readonly sessions = new Set<http2.ServerHttp2Session>()
  private dir: string | undefined
  address = ''
  socketPath = ''

  constructor() {
    this.server = http2.createServer()
    this.server.on('session', (s) => {
      this.sessions.add(s)
      s.on('close', () => this.sessions.delete(s))
    })
    this.server.on('stream', (stream, headers) => this.onStream(stream, headers))
  }

  /** Listens on a unix socket (default) or on TCP 127.0.0.1 with a free port. */
  async listen(kind: 'unix' | 'tcp' = 'unix', socketPath?: string): Promise<this> {
    if (kind === 'unix') {
      if (socketPath === undefined) {
        this.dir = mkdtempSync(join(tmpdir(), 'vouch-wlapi-'))
        socketPath = join(this.dir, 'agent.sock')
      }
      this.socketPath = socketPath
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject)
        this.server.listen(socketPath, () => resolve())
      })
      this.address = `unix://${socketPath}`
    } else {
      await new Promise<void>((resolve, reject) => {
        this.server.once('error', reject)
        this.server.listen(0, '127.0.0.1', () => resolve())
      })
      const port = (this.server.address() as { port: number }).port
      this.address = `tcp://127.0.0.1:${port}`
    }
    return this
  }

  /** Sets how calls of `method` are answered (replaces the previous handler). */
  handle(method: string, handler: CallHandler): this {
    this.handlers.set(method, handler)
    return this
  }

  private onStream(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
    const method = String(headers[':path'])
    const security = headers[WORKLOAD_API_HEADER]
    const record: RecordedCall = {
      method,
      securityHeader: Array.isArray(security) ? security[0] : security,
      contentType: headers['content-type'],
      request: undefined,
      status: undefined,
    }
    this.calls.push(record)
    const deframer = new GrpcDeframer()
    const messages: Uint8Array[] = []
    stream.on('error', () => {})
    stream.on('data', (chunk: Buffer) => {
      try {
        messages.push(...deframer.push(new Uint8Array(chunk)))
      } catch {
        // recorded as no request
      }
    })
    stream.on('end', () => {
      record.request = messages[0]
      const call = new ServerCall(stream, record, messages[0] ?? new Uint8Array())
      this.open.add(call)
      stream.on('close', () => this.open.delete(call))
      const handler = this.handlers.get(method)
      if (handler) handler(call)
      else if (method === WorkloadApiMethod.fetchJwtSvid || method === WorkloadApiMethod.validateJwtSvid) {
        call.end(GrpcStatus.UNIMPLEMENTED, 'no handler')
      }
    })
  }

  /** The open calls of `method`. */
  openCalls(method: string): ServerCall[] {
    return [...this.open].filter((c) => c.method === method && !c.ended)
  }

  /** Sends a message on every open call of `method`; returns how many calls got it. */
  push(method: string, message: Uint8Array): number {
    const calls = this.openCalls(method)
    for (const c of calls) c.send(message)
    return calls.length
  }

  /** Ends every open call of `method` (all methods when undefined) with a status. */
  endAll(method: string | undefined, code: GrpcStatusCode, message = ''): void {
    for (const c of [...this.open]) if (method === undefined || c.method === method) c.end(code, message)
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((c) => c.method === method)
  }

  async close(): Promise<void> {
    for (const c of this.open) c.reset()
    for (const s of this.sessions) s.destroy()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
    if (this.dir) rmSync(this.dir, { recursive: true, force: true })
  }
}
