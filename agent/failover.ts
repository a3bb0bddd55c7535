// The agent's servers (agent.servers: replicas of one vouch service) and how it moves between
// them. A request that gets no HTTP answer (refused, reset, timed out, TLS failure), a 5xx or a 429
// is tried again on the next server, after a jittered exponential backoff (full jitter: a random
// wait up to base * 2^n, at most maxDelayMs) and never before the Retry-After the server sent
// (seconds or an HTTP-date, capped at maxRetryAfterMs; it holds for that server only). A 4xx is a
// verdict (a policy refusal, a ban, a bad request) and goes back to the caller at once: another
// replica of the same service would give the same one. Attempts are bounded. The server that last
// answered stays the first choice for the next request (the answer follows its challenge).
import { type AgentHttpClient, ConnectionError, ProtocolError } from './http.ts'
import type { Logger } from './log.ts'

export interface FailoverOptions {
  /** first backoff bound (ms); default 200 */
  readonly baseDelayMs?: number
  /** largest backoff (ms); default 5000 */
  readonly maxDelayMs?: number
  /** the most a Retry-After may make the agent wait (ms); default 30,000 */
  readonly maxRetryAfterMs?: number
  /** attempts per request over all servers; default max(3, 2 * servers) */
  readonly maxAttempts?: number
  readonly random?: () => number
  readonly now?: () => number
  readonly sleep?: (ms: number) => Promise<void>
}

export const FAILOVER_DEFAULTS = { baseDelayMs: 200, maxDelayMs: 5_000, maxRetryAfterMs: 30_000 } as const

/**
 * Retry-After (RFC 9110 §10.2.3) as a wait in ms from `now`: delay-seconds or an HTTP-date;
 * undefined when absent or neither. A date in the past is 0.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined
  const v = value.trim()
  if (/^\d+$/.test(v)) return Number(v) * 1000
  if (!/^[A-Za-z]{3}, \d{2} [A-Za-z]{3} \d{4} \d{2}:\d{2}:\d{2} GMT$/.test(v)) return undefined
  const at = Date.parse(v)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

/** Whether another server (or a later try) may answer differently: no answer, 5xx or 429. */
export function isRetryable(e: unknown): boolean {
  if (e instanceof ConnectionError) return true
  if (e instanceof ProtocolError) return e.status >= 500 || e.status === 429
  return false
}

export class ServerPool {
  private current = 0
  private readonly notBefore: number[]
  private readonly o: Required<FailoverOptions>

  constructor(
    readonly servers: readonly string[],
    private readonly client: (server: string) => AgentHttpClient,
    private readonly log: Logger,
    options: FailoverOptions = {},
  ) {
    if (servers.length === 0) throw new Error('no server')
    this.notBefore = servers.map(() => 0)
    this.o = {
      ...FAILOVER_DEFAULTS,
      maxAttempts: Math.max(3, 2 * servers.length),
      random: Math.random,
      now: Date.now,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      ...options,
    }
  }

  /** the server the next request goes to first */
  get server(): string {
    return this.servers[this.current]!
  }

  /**
   * Runs `request` against the current server, moving on as described above. Resolves with its
   * value and the server that answered; rejects with the last error when attempts run out, or at
   * once with a verdict (4xx other than 429) or an error that is not the server's.
   */
  async run<T>(what: string, request: (client: AgentHttpClient) => Promise<T>): Promise<{ value: T; server: string }> {
    for (let attempt = 1; ; attempt++) {
      const server = this.server
      try {
        return { value: await request(this.client(server)), server }
      } catch (e) {
        if (!isRetryable(e) || attempt >= this.o.maxAttempts) throw e
        const now = this.o.now()
        const retryAfter = e instanceof ProtocolError ? parseRetryAfter(e.retryAfter, now) : undefined
        if (retryAfter !== undefined) this.notBefore[this.current] = now + Math.min(retryAfter, this.o.maxRetryAfterMs)
        this.current = (this.current + 1) % this.servers.length
        const backoff = this.o.random() * Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** (attempt - 1))
        const wait = Math.ceil(Math.max(backoff, this.notBefore[this.current]! - now))
        this.log.log('warn', 'Server unavailable, trying the next', {
          request: what,
          server,
          error: (e as Error).message,
          next: this.server,
          waitMs: wait,
          attempt,
        })
        await this.o.sleep(wait)
      }
    }
  }
}
