/**
 * A small gRPC server over HTTP/2 cleartext (node:http2) for the agent socket: routes `:path` to a
 * handler, frames messages (core/workload/grpc-frame.ts), ends every call with `grpc-status` and
 * `grpc-message` trailers, and bounds what a caller can hold:
 *
 * - a request message is at most `maxMessageBytes` (ResourceExhausted beyond, before it is buffered);
 * - a connection has at most `maxStreamsPerConnection` concurrent calls (HTTP/2
 *   SETTINGS_MAX_CONCURRENT_STREAMS, and refused with ResourceExhausted past it);
 * - a stream whose reader does not keep up (more than `maxBufferedBytes` unsent) is cancelled with
 *   ResourceExhausted instead of growing memory.
 *
 * Errors: a {@link WorkloadApiError} or {@link WorkloadError} becomes its gRPC status with
 * `CODE: message` as grpc-message; anything else is logged and answered INTERNAL "internal error"
 * (never a stack trace).
 */
import type { Http2ServerRequest, IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2'
import { isVerifyError, WorkloadApiError, type ErrorCode } from '../../../core/errors.ts'
import { encodeGrpcMessage, frameMessage, GrpcDeframer, GrpcStatus, type GrpcStatusCode } from '../../../core/workload/index.ts'
import type { Logger } from '../../log.ts'

export type { Http2ServerRequest }

/** One call as a handler sees it. */
export interface GrpcCall<P> {
  readonly method: string
  readonly headers: IncomingHttpHeaders
  /** what the connection carries (the attested peer) */
  readonly peer: P
  /** aborted when the caller cancels, the connection closes or the server stops */
  readonly signal: AbortSignal
  /** the request messages as they arrive (ends when the caller half-closes) */
  messages(): AsyncIterable<Uint8Array>
  /** exactly one request message (unary and server-streaming methods) */
  single(): Promise<Uint8Array>
  /** sends one response message; throws when the call is gone */
  send(message: Uint8Array): void
}

export type GrpcHandler<P> = (call: GrpcCall<P>) => Promise<void>

/** request messages received and not yet read by the handler, per call */
const MAX_QUEUED_MESSAGES = 64

/** The gRPC status of a vouch error code on the agent socket. */
export function grpcStatusOf(code: ErrorCode): GrpcStatusCode {
  switch (code) {
    case 'ERR_WORKLOAD_API_NO_IDENTITY':
    case 'ERR_WORKLOAD_API_CALLER_UNVERIFIED':
      return GrpcStatus.PERMISSION_DENIED
    case 'ERR_WORKLOAD_API_METHOD_UNKNOWN':
      return GrpcStatus.UNIMPLEMENTED
    case 'ERR_WORKLOAD_API_LIMIT':
    case 'ERR_INPUT_TOO_LARGE':
      return GrpcStatus.RESOURCE_EXHAUSTED
    case 'ERR_WORKLOAD_API_UNAVAILABLE':
      return GrpcStatus.UNAVAILABLE
    case 'ERR_WORKLOAD_API_NATIVE_MISSING':
      return GrpcStatus.INTERNAL
    default:
      // the security header, a malformed or incomplete request, an unauthorized SDS name, a JWT that
      // does not validate: all InvalidArgument, as SPIRE answers them
      return GrpcStatus.INVALID_ARGUMENT
  }
}

export class GrpcCallError extends Error {
  constructor(
    readonly status: GrpcStatusCode,
    message: string,
  ) {
    super(message)
  }
}

/** The status and message an error is answered with. */
export function statusOfError(err: unknown, logger: Logger | undefined, method: string): { status: GrpcStatusCode; message: string } {
  if (err instanceof GrpcCallError) return { status: err.status, message: err.message }
  if (isVerifyError(err)) return { status: grpcStatusOf(err.code), message: `${err.code}: ${err.message}` }
  logger?.log('error', 'workload api: handler failed', { method, error: err instanceof Error ? err.message : String(err) })
  return { status: GrpcStatus.INTERNAL, message: 'internal error' }
}

export interface GrpcStreamOptions {
  readonly maxMessageBytes: number
  readonly maxBufferedBytes: number
  /** a call whose first request message (or half-close) has not arrived by then ends with ResourceExhausted */
  readonly requestTimeoutMs?: number
  readonly logger?: Logger
}

/**
 * Runs `handler` on one HTTP/2 stream. The response headers go out with the first message (or the
 * status alone, "trailers-only", when the handler fails first).
 */
export function serveGrpcStream<P>(
  stream: ServerHttp2Stream,
  headers: IncomingHttpHeaders,
  peer: P,
  handler: GrpcHandler<P>,
  options: GrpcStreamOptions,
  stopSignal: AbortSignal,
): void {
  const method = String(headers[':path'] ?? '')
  const controller = new AbortController()
  const abort = () => controller.abort()
  stopSignal.addEventListener('abort', abort, { once: true })
  stream.once('close', abort)
  stream.on('error', abort)

  let headersSent = false
  let finished = false
  const deframer = new GrpcDeframer(options.maxMessageBytes)
  const queue: Uint8Array[] = []
  let ended = false
  let inputError: unknown
  let wake: (() => void) | undefined
  const notify = () => {
    const w = wake
    wake = undefined
    w?.()
  }

  // a caller must send its request in time: an open stream that never does holds a slot for nothing
  let requested = false
  const requestTimer =
    options.requestTimeoutMs === undefined
      ? undefined
      : setTimeout(() => {
          if (requested || finished) return
          const message = `ERR_WORKLOAD_API_LIMIT: no request message within ${options.requestTimeoutMs} ms`
          inputError = new WorkloadApiError('ERR_WORKLOAD_API_LIMIT', message.slice('ERR_WORKLOAD_API_LIMIT: '.length))
          finish(GrpcStatus.RESOURCE_EXHAUSTED, message)
          controller.abort()
        }, options.requestTimeoutMs)
  const requestArrived = () => {
    requested = true
    if (requestTimer !== undefined) clearTimeout(requestTimer)
  }
  controller.signal.addEventListener('abort', requestArrived, { once: true })

  stream.on('data', (chunk: Buffer) => {
    if (inputError !== undefined || ended) return
    try {
      for (const m of deframer.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
        queue.push(m)
        requestArrived()
      }
      // a caller that streams messages faster than the handler reads them is bounded too
      if (queue.length > MAX_QUEUED_MESSAGES) {
        throw new WorkloadApiError('ERR_WORKLOAD_API_LIMIT', `more than ${MAX_QUEUED_MESSAGES} request messages are waiting to be read`)
      }
    } catch (err) {
      inputError = err
      stream.pause()
    }
    notify()
  })
  stream.on('end', () => {
    if (inputError === undefined) {
      try {
        deframer.finish()
      } catch (err) {
        inputError = err
      }
    }
    ended = true
    requestArrived()
    notify()
  })
  controller.signal.addEventListener('abort', notify, { once: true })

  async function next(): Promise<Uint8Array | undefined> {
    for (;;) {
      if (queue.length > 0) return queue.shift()
      if (inputError !== undefined) throw inputError
      if (ended || controller.signal.aborted) return undefined
      await new Promise<void>((resolve) => {
        wake = resolve
      })
    }
  }

  const call: GrpcCall<P> = {
    method,
    headers,
    peer,
    signal: controller.signal,
    messages() {
      return {
        [Symbol.asyncIterator]() {
          return {
            async next() {
              const m = await next()
              return m === undefined ? { done: true, value: undefined } : { done: false, value: m }
            },
          }
        },
      }
    },
    async single() {
      const m = await next()
      if (m === undefined) throw new WorkloadApiError('ERR_WORKLOAD_API_REQUEST_INVALID', 'the call carried no request message')
      return m
    },
    send(message) {
      if (finished || stream.destroyed || stream.closed) throw new GrpcCallError(GrpcStatus.CANCELLED, 'the call is closed')
      if (!headersSent) {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true })
        headersSent = true
      }
      if (stream.writableLength > options.maxBufferedBytes) {
        throw new WorkloadApiError('ERR_WORKLOAD_API_LIMIT', 'the caller does not read its stream')
      }
      stream.write(frameMessage(message))
    },
  }

  const finish = (status: GrpcStatusCode, message: string) => {
    if (finished) return
    finished = true
    stopSignal.removeEventListener('abort', abort)
    if (stream.destroyed || stream.closed) return
    const trailers: Record<string, string> = { 'grpc-status': String(status) }
    if (message !== '') trailers['grpc-message'] = encodeGrpcMessage(message)
    // a caller still sending after the status is stopped with RST_STREAM(NO_ERROR), which nghttp2
    // queues behind the status (gRPC PROTOCOL-HTTP2)
    const stopCaller = () => {
      if (!ended && !stream.closed) stream.close(0)
    }
    try {
      if (headersSent) {
        stream.once('wantTrailers', () => {
          try {
            stream.sendTrailers(trailers)
            stopCaller()
          } catch {
            stream.close()
          }
        })
        stream.end()
      } else {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...trailers }, { endStream: true })
        stopCaller()
      }
    } catch {
      stream.close()
    }
  }

  handler(call).then(
    () =>
      stopSignal.aborted
        ? finish(GrpcStatus.UNAVAILABLE, 'ERR_WORKLOAD_API_UNAVAILABLE: the agent is shutting down')
        : finish(GrpcStatus.OK, ''),
    (err: unknown) => {
      const { status, message } = statusOfError(err, options.logger, method)
      finish(status, message)
    },
  )
}
