// TPM client: one connection per agent, commands serialized, bounded retry of TPM_RC_RETRY-class
// warnings (SPIRE: 10 tries, 500 ms; spec §7 step 9), and flush helpers that also run on errors.
import * as cmd from '../../core/tpm2/command/index.ts'
import { TPM_CAP, TPM_PT, type TpmCommand } from '../../core/tpm2/command/index.ts'
import { isRetryable, TpmResponseError } from '../../core/tpm2/rc.ts'
import { responseCodeOf } from '../../core/tpm2/command/frame.ts'
import type { TpmTransport } from './transport.ts'

export interface TpmClientOptions {
  readonly retries?: number
  readonly retryDelayMs?: number
}

export class TpmClient {
  private queue: Promise<unknown> = Promise.resolve()
  private readonly retries: number
  private readonly retryDelayMs: number
  /** transient objects and sessions this client created and has not flushed yet */
  readonly live = new Set<number>()

  constructor(
    readonly transport: TpmTransport,
    opts: TpmClientOptions = {},
  ) {
    this.retries = opts.retries ?? 10
    this.retryDelayMs = opts.retryDelayMs ?? 500
  }

  /** Send one command (serialized with every other command of this client) and decode the answer. */
  run<R>(command: TpmCommand<R>): Promise<R> {
    const next = this.queue.then(() => this.exchange(command))
    this.queue = next.catch(() => undefined)
    return next
  }

  private async exchange<R>(command: TpmCommand<R>): Promise<R> {
    for (let attempt = 0; ; attempt++) {
      const rsp = await this.transport.send(command.bytes)
      const rc = responseCodeOf(rsp)
      if (rc !== 0 && isRetryable(rc) && attempt < this.retries) {
        await new Promise((r) => setTimeout(r, this.retryDelayMs))
        continue
      }
      return command.decode(rsp)
    }
  }

  /** Record a transient handle so `flushAll` can free it. */
  track(handle: number): number {
    this.live.add(handle)
    return handle
  }

  async flush(handle: number): Promise<void> {
    this.live.delete(handle)
    await this.run(cmd.flushContext(handle))
  }

  /** Flush, ignoring errors (cleanup paths; e.g. a policy session already closed by the TPM). */
  async flushQuiet(handle: number | undefined): Promise<void> {
    if (handle === undefined) return
    try {
      await this.flush(handle)
    } catch {
      /* already gone */
    }
  }

  async flushAll(): Promise<void> {
    for (const h of [...this.live]) await this.flushQuiet(h)
  }

  /** Run `fn` with a handle that is always flushed afterwards. */
  async using<T>(handle: number, fn: (handle: number) => Promise<T>): Promise<T> {
    this.track(handle)
    try {
      return await fn(handle)
    } finally {
      await this.flushQuiet(handle)
    }
  }

  async getProperty(property: number): Promise<number | undefined> {
    const cap = await this.run(cmd.getCapability(TPM_CAP.TPM_PROPERTIES, property, 1))
    return cap.properties?.get(property)
  }

  /** Read a whole NV index: NV_ReadPublic for its size, NV_Read in TPM_PT_NV_BUFFER_MAX chunks (spec §7 step 7). */
  async readNv(nvIndex: number, auth = cmd.passwordAuth('')): Promise<Uint8Array> {
    const { nvPublic } = await this.run(cmd.nvReadPublic(nvIndex))
    const max = (await this.getProperty(TPM_PT.NV_BUFFER_MAX)) || 512
    const out = new Uint8Array(nvPublic.dataSize)
    for (let off = 0; off < out.length; off += max) {
      const chunk = await this.run(cmd.nvRead(nvIndex, nvIndex, auth, Math.min(max, out.length - off), off))
      out.set(chunk, off)
    }
    return out
  }

  async close(): Promise<void> {
    try {
      await this.flushAll()
    } finally {
      await this.transport.close()
    }
  }
}

export { TpmResponseError }
