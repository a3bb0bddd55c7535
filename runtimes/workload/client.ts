/**
 * A gRPC client of the SPIFFE Workload API over node:http2 (Node and Bun), on a unix socket or TCP
 * (./endpoint.ts). One HTTP/2 connection is shared by every call and opened again after it drops.
 *
 * Every call sends the `workload.spiffe.io: true` metadata (SPIFFE Workload Endpoint §3). A call
 * that ends with a gRPC status other than OK rejects (unary) or reports (stream) a
 * {@link WorkloadError} `ERR_WORKLOAD_STATUS` whose `detail.grpcStatus` is the code; an unreachable
 * endpoint is UNAVAILABLE, a message that breaks the framing is INTERNAL (RESOURCE_EXHAUSTED above
 * the size bound). This layer does not retry: the sources (./sources.ts) do.
 */
import http2 from 'node:http2'
import net from 'node:net'
import { WORKLOAD_CLIENT_CLOSED } from '../../core/messages.ts'
import { WorkloadError, isVerifyError } from '../../core/errors.ts'
import { DEFAULT_MAX_MESSAGE_BYTES, GrpcDeframer, frameMessage } from '../../core/workload/grpc-frame.ts'
import {
  GrpcStatus,
  type GrpcStatusCode,
  decodeGrpcMessage,
  grpcStatusFromHttp,
  grpcStatusName,
  parseGrpcStatus,
} from '../../core/workload/grpc-status.ts'
import {
  type JwtSvidRequest,
  type JwtSvidResponse,
  type ValidateJwtSvidRequest,
  type ValidateJwtSvidResponse,
  decodeJwtSvidResponse,
  decodeValidateJwtSvidResponse,
  encodeJwtSvidRequest,
  encodeValidateJwtSvidRequest,
} from '../../core/workload/jwt-svid.ts'
import { GRPC_CONTENT_TYPE, WORKLOAD_API_HEADER, WORKLOAD_API_HEADER_VALUE, type WorkloadApiMethod } from '../../core/workload/service.ts'
import { type WorkloadEndpoint, resolveWorkloadEndpoint } from './endpoint.ts'

export interface WorkloadApiClientOptions {
  /** `unix:///path`, `unix:path` or `tcp://IP:port`; default `SPIFFE_ENDPOINT_SOCKET` */
  readonly address?: string
  /** bound of one received message; default 4 MiB (gRPC's default) */
  readonly maxMessageBytes?: number
}

/** How a call ended. */
export interface CallStatus {
  readonly code: GrpcStatusCode
  readonly message: string
}

export interface StreamHandlers {
  /** one received message (the bytes of the protobuf message, unframed) */
  readonly onMessage: (message: Uint8Array) => void
  /** the call ended; `status.code` is OK when the server closed the stream normally */
  readonly onEnd: (status: CallStatus) => void
}

export interface StreamCall {
  /** cancels the call (the handlers are not called afterwards) */
  close(): void
}

/** The error of a call that ended with `status`. */
export function statusError(method: string, status: CallStatus): WorkloadError {
  const name = grpcStatusName(status.code)
  return new WorkloadError('ERR_WORKLOAD_STATUS', `${method}: ${name}${status.message === '' ? '' : `: ${status.message}`}`, {
    detail: { grpcStatus: status.code, grpcStatusName: name },
  })
}

/** The gRPC code of an `ERR_WORKLOAD_STATUS` error, else undefined. */
export function grpcStatusOf(e: unknown): GrpcStatusCode | undefined {
  if (e instanceof WorkloadError && e.code === 'ERR_WORKLOAD_STATUS' && typeof e.detail.grpcStatus === 'number') {
    return e.detail.grpcStatus as GrpcStatusCode
  }
  return undefined
}

function header(value: string | string[] | number | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value === undefined ? undefined : String(value)
}

export class WorkloadApiClient {
  readonly endpoint: WorkloadEndpoint
  private readonly maxMessageBytes: number
  private session: http2.ClientHttp2Session | undefined
  private readonly calls = new Set<http2.ClientHttp2Stream>()
  private closed = false

  constructor(options: WorkloadApiClientOptions = {}) {
    this.endpoint = resolveWorkloadEndpoint(options.address)
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
  }

  get isClosed(): boolean {
    return this.closed
  }

  private connect(): http2.ClientHttp2Session {
    if (this.session !== undefined && !this.session.closed && !this.session.destroyed) return this.session
    const ep = this.endpoint
    const session =
      ep.kind === 'unix'
        ? http2.connect('http://localhost', { createConnection: () => net.connect(ep.path) })
        : http2.connect(`http://${ep.host.includes(':') ? `[${ep.host}]` : ep.host}:${ep.port}`)
    // errors surface on the streams; an unhandled session error must not crash the process
    session.on('error', () => {})
    session.on('close', () => {
      if (this.session === session) this.session = undefined
    })
    session.on('goaway', () => {
      if (this.session === session) this.session = undefined
    })
    this.session = session
    return session
  }

  /**
   * Starts a call of `method` with one request message. `onMessage` gets each response message,
   * `onEnd` the final status, exactly once, unless the call is closed first.
   */
  call(method: WorkloadApiMethod, request: Uint8Array, handlers: StreamHandlers): StreamCall {
    if (this.closed) throw new WorkloadError('ERR_WORKLOAD_CLOSED', WORKLOAD_CLIENT_CLOSED)
    let ended = false
    let cancelled = false
    const end = (status: CallStatus) => {
      if (ended) return
      ended = true
      if (!cancelled) handlers.onEnd(status)
    }
    let stream: http2.ClientHttp2Stream
    try {
      stream = this.connect().request({
        ':method': 'POST',
        ':path': method,
        'content-type': GRPC_CONTENT_TYPE,
        te: 'trailers',
        [WORKLOAD_API_HEADER]: WORKLOAD_API_HEADER_VALUE,
      })
    } catch (e) {
      queueMicrotask(() => end({ code: GrpcStatus.UNAVAILABLE, message: `cannot open a stream: ${(e as Error).message}` }))
      return { close: () => (cancelled = true) }
    }
    this.calls.add(stream)
    const deframer = new GrpcDeframer(this.maxMessageBytes)
    let responseHeaders: http2.IncomingHttpHeaders | undefined
    let trailers: http2.IncomingHttpHeaders | undefined
    let localFailure: CallStatus | undefined

    stream.on('response', (h) => {
      responseHeaders = h
    })
    stream.on('trailers', (t) => {
      trailers = t
    })
    stream.on('data', (chunk: Buffer) => {
      if (localFailure !== undefined || cancelled) return
      let messages: Uint8Array[]
      try {
        messages = deframer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))
      } catch (e) {
        const tooLarge = isVerifyError(e) && e.code === 'ERR_INPUT_TOO_LARGE'
        localFailure = { code: tooLarge ? GrpcStatus.RESOURCE_EXHAUSTED : GrpcStatus.INTERNAL, message: (e as Error).message }
        stream.close(http2.constants.NGHTTP2_CANCEL)
        return
      }
      for (const m of messages) {
        if (ended || cancelled) return
        handlers.onMessage(m)
      }
    })
    stream.on('error', (e) => {
      localFailure ??= { code: GrpcStatus.UNAVAILABLE, message: `workload endpoint ${this.endpoint.address}: ${e.message}` }
    })
    stream.on('close', () => {
      this.calls.delete(stream)
      if (localFailure !== undefined) return end(localFailure)
      const statusHeader = header(trailers?.['grpc-status']) ?? header(responseHeaders?.['grpc-status'])
      const messageHeader = header(trailers?.['grpc-message']) ?? header(responseHeaders?.['grpc-message'])
      if (statusHeader === undefined) {
        const http = Number(header(responseHeaders?.[':status']) ?? 0)
        if (responseHeaders === undefined) {
          return end({ code: GrpcStatus.UNAVAILABLE, message: `the stream closed without a response (code ${stream.rstCode ?? 0})` })
        }
        return end({
          code: http === 200 ? GrpcStatus.UNKNOWN : grpcStatusFromHttp(http),
          message: `the response has no grpc-status (HTTP ${http})`,
        })
      }
      try {
        deframer.finish()
      } catch (e) {
        return end({ code: GrpcStatus.INTERNAL, message: (e as Error).message })
      }
      end({ code: parseGrpcStatus(statusHeader), message: decodeGrpcMessage(messageHeader) })
    })
    stream.end(frameMessage(request))
    return {
      close: () => {
        if (ended || cancelled) return
        cancelled = true
        if (!stream.closed && !stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL)
      },
    }
  }

  /** A unary call: resolves with the one response message, rejects with `ERR_WORKLOAD_STATUS`. */
  unary(method: WorkloadApiMethod, request: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      const messages: Uint8Array[] = []
      const call = this.call(method, request, {
        onMessage: (m) => messages.push(m),
        onEnd: (status) => {
          signal?.removeEventListener('abort', onAbort)
          if (status.code !== GrpcStatus.OK) return reject(statusError(method, status))
          if (messages.length !== 1) {
            return reject(
              statusError(method, { code: GrpcStatus.INTERNAL, message: `expected one response message, received ${messages.length}` }),
            )
          }
          resolve(messages[0]!)
        },
      })
      const onAbort = () => {
        call.close()
        reject(statusError(method, { code: GrpcStatus.CANCELLED, message: 'the call was aborted' }))
      }
      if (signal?.aborted) onAbort()
      else signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** FetchJWTSVID, decoded (not validated: see JwtSource.fetchJwtSvid). */
  async fetchJwtSvid(request: JwtSvidRequest, signal?: AbortSignal): Promise<JwtSvidResponse> {
    const bytes = await this.unary('/SpiffeWorkloadAPI/FetchJWTSVID', encodeJwtSvidRequest(request), signal)
    return decodeJwtSvidResponse(bytes)
  }

  /** ValidateJWTSVID: the agent validates the token (delegated validation). */
  async validateJwtSvid(request: ValidateJwtSvidRequest, signal?: AbortSignal): Promise<ValidateJwtSvidResponse> {
    const bytes = await this.unary('/SpiffeWorkloadAPI/ValidateJWTSVID', encodeValidateJwtSvidRequest(request), signal)
    return decodeValidateJwtSvidResponse(bytes)
  }

  /** Cancels every open call and closes the connection. */
  close(): void {
    if (this.closed) return
    this.closed = true
    for (const s of this.calls) if (!s.closed && !s.destroyed) s.close(http2.constants.NGHTTP2_CANCEL)
    this.calls.clear()
    const session = this.session
    this.session = undefined
    if (session !== undefined && !session.destroyed) {
      session.close()
      session.destroy()
    }
  }
}
