/**
 * One watched server stream of the Workload API (FetchX509SVID, FetchX509Bundles, FetchJWTBundles)
 * with the client behaviour of the SPIFFE Workload API (§5.2, App. A) and Workload Endpoint (§6):
 *
 * - each message is decoded and checked by `accept`; a message that fails is reported and
 *   discarded, the previous good state stays;
 * - after the stream ends (any status, OK included, or an unreachable endpoint) the call is made
 *   again after a jittered exponential backoff: `initialMs · 2^n`, capped at `maxMs`, each delay
 *   drawn uniformly from its upper half; a good update resets `n`;
 * - PERMISSION_DENIED also withdraws the current state (`onWithdrawn`): the workload is no longer
 *   entitled to it (§5.5);
 * - INVALID_ARGUMENT is final: no retry (Workload Endpoint §6: the client sent something the
 *   server will refuse again), the watch fails.
 */
import { WORKLOAD_CLIENT_CLOSED } from '../../core/messages.ts'
import { WorkloadError } from '../../core/errors.ts'
import { GrpcStatus } from '../../core/workload/grpc-status.ts'
import type { WorkloadApiMethod } from '../../core/workload/service.ts'
import { type CallStatus, type StreamCall, type WorkloadApiClient, statusError } from './client.ts'

export interface BackoffOptions {
  /** first delay, ms; default 1000 */
  readonly initialMs?: number
  /** longest delay, ms; default 30000 */
  readonly maxMs?: number
}

export interface WatchHandlers<T> {
  /** decodes and checks one message; throws to refuse it */
  readonly accept: (message: Uint8Array) => Promise<T> | T
  /** a checked message, in stream order */
  readonly onUpdate: (value: T) => void
  /** the server withdrew the state (PERMISSION_DENIED) */
  readonly onWithdrawn: () => void
  /** a refused message or an ended call (the watch goes on unless `final`) */
  readonly onError: (error: unknown, final: boolean) => void
}

export class StreamWatch<T> {
  private call: StreamCall | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private attempt = 0
  private stopped = false
  /** messages are checked one after the other, in order, even when a check is async */
  private queue: Promise<void> = Promise.resolve()
  private readonly initialMs: number
  private readonly maxMs: number

  constructor(
    private readonly client: WorkloadApiClient,
    private readonly method: WorkloadApiMethod,
    private readonly request: Uint8Array,
    private readonly handlers: WatchHandlers<T>,
    backoff: BackoffOptions = {},
  ) {
    this.initialMs = backoff.initialMs ?? 1000
    this.maxMs = backoff.maxMs ?? 30_000
    if (!(this.initialMs > 0) || !(this.maxMs >= this.initialMs)) throw new RangeError('backoff: need 0 < initialMs <= maxMs')
  }

  start(): void {
    if (this.stopped || this.call !== undefined) return
    this.open()
  }

  private open(): void {
    this.timer = undefined
    if (this.stopped) return
    if (this.client.isClosed) {
      this.stopped = true
      this.handlers.onError(new WorkloadError('ERR_WORKLOAD_CLOSED', WORKLOAD_CLIENT_CLOSED), true)
      return
    }
    this.call = this.client.call(this.method, this.request, {
      onMessage: (m) => {
        this.queue = this.queue.then(async () => {
          if (this.stopped) return
          let value: T
          try {
            value = await this.handlers.accept(m)
          } catch (e) {
            if (!this.stopped) this.handlers.onError(e, false)
            return
          }
          if (this.stopped) return
          this.attempt = 0
          this.handlers.onUpdate(value)
        })
      },
      onEnd: (status) => {
        this.call = undefined
        // the messages received before the end are applied first
        this.queue = this.queue.then(() => this.ended(status))
      },
    })
  }

  private ended(status: CallStatus): void {
    if (this.stopped) return
    const error = statusError(
      this.method,
      status.code === GrpcStatus.OK ? { code: GrpcStatus.OK, message: 'the server ended the stream' } : status,
    )
    if (status.code === GrpcStatus.INVALID_ARGUMENT) {
      this.stopped = true
      this.handlers.onError(error, true)
      return
    }
    if (status.code === GrpcStatus.PERMISSION_DENIED) this.handlers.onWithdrawn()
    this.handlers.onError(error, false)
    const ceiling = Math.min(this.maxMs, this.initialMs * 2 ** Math.min(this.attempt, 30))
    this.attempt++
    const delay = ceiling / 2 + Math.random() * (ceiling / 2)
    this.timer = setTimeout(() => this.open(), delay)
  }

  stop(): void {
    this.stopped = true
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.call?.close()
    this.call = undefined
  }
}
