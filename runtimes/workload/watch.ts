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

/** Responses waiting to be checked, at most (the rest are dropped, oldest first). */
export const MAX_PENDING_MESSAGES = 8

/**
 * The delay before retry number `attempt` (0 first): `initialMs · 2^attempt` capped at `maxMs`, drawn
 * uniformly from the upper half of that ceiling (`random` in [0, 1)).
 */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30))
  return ceiling / 2 + random() * (ceiling / 2)
}

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
  /**
   * Received messages and the end of the call, checked one after the other, in order, even when a
   * check is async. Each response carries the whole state, so when more than
   * {@link MAX_PENDING_MESSAGES} wait, the oldest are dropped (reported): memory stays bounded
   * whatever the server sends.
   */
  private readonly pending: ({ message: Uint8Array } | { end: CallStatus })[] = []
  private pumping = false
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
      onMessage: (message) => {
        if (this.pending.filter((p) => 'message' in p).length >= MAX_PENDING_MESSAGES) {
          const oldest = this.pending.findIndex((p) => 'message' in p)
          this.pending.splice(oldest, 1)
          this.handlers.onError(
            new WorkloadError(
              'ERR_WORKLOAD_RESPONSE_INVALID',
              `${this.method}: more than ${MAX_PENDING_MESSAGES} responses wait to be checked; the oldest was dropped`,
            ),
            false,
          )
        }
        this.pending.push({ message })
        void this.pump()
      },
      onEnd: (status) => {
        this.call = undefined
        // the messages received before the end are applied first
        this.pending.push({ end: status })
        void this.pump()
      },
    })
  }

  private async pump(): Promise<void> {
    if (this.pumping) return
    this.pumping = true
    try {
      for (let item = this.pending.shift(); item !== undefined && !this.stopped; item = this.pending.shift()) {
        if ('end' in item) {
          this.ended(item.end)
          continue
        }
        let value: T
        try {
          value = await this.handlers.accept(item.message)
        } catch (e) {
          if (!this.stopped) this.handlers.onError(e, false)
          continue
        }
        if (this.stopped) return
        this.attempt = 0
        this.handlers.onUpdate(value)
      }
    } finally {
      this.pumping = false
    }
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
    const delay = backoffDelay(this.attempt++, this.initialMs, this.maxMs)
    this.timer = setTimeout(() => this.open(), delay)
  }

  stop(): void {
    this.stopped = true
    this.pending.length = 0
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.call?.close()
    this.call = undefined
  }
}
