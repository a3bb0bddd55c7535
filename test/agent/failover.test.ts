// The agent's failover between servers (agent/failover.ts) with the real HTTP client against real
// node:http servers that answer as a failing replica would: 503 and 429 (with Retry-After), 500, a
// refused connection, a connection cut mid-request, and a 4xx verdict, which is never taken to
// another server. The waits are the real ones where Retry-After is measured (1 s), else recorded
// through the injected sleep.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { type FailoverOptions, isRetryable, parseRetryAfter, ServerPool } from '../../agent/failover.ts'
import { AgentHttpClient, ConnectionError, ProtocolError } from '../../agent/http.ts'
import type { Logger } from '../../agent/log.ts'
import { freePort } from '../support/free-port.ts'

type Handler = (n: number, req: IncomingMessage, res: ServerResponse) => void
interface TestServer {
  readonly url: string
  /** arrival times (ms) of the requests it got */
  readonly hits: number[]
}
const servers: Server[] = []
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))))
})

async function serve(handler: Handler): Promise<TestServer> {
  const hits: number[] = []
  const s = createServer((req, res) => {
    hits.push(performance.now())
    req.resume()
    req.on('end', () => handler(hits.length, req, res))
  })
  servers.push(s)
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return { url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, hits }
}

const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}
const ok: Handler = (_n, _req, res) => json(res, 200, { sessionId: 's' })

function pool(urls: string[], options: FailoverOptions = {}) {
  const lines: Record<string, unknown>[] = []
  const log: Logger = { log: (level, msg, fields) => lines.push({ level, msg, ...fields }) }
  const waits: number[] = []
  const p = new ServerPool(urls, (u) => new AgentHttpClient(u, undefined, 5_000, true), log, {
    random: () => 0,
    sleep: async (ms) => void waits.push(ms),
    ...options,
  })
  return { p, lines, waits, post: () => p.run('attest', (c) => c.post<{ sessionId: string }>('/v1/attest', {})) }
}

describe('Retry-After', () => {
  it('parses delay-seconds and an HTTP-date; anything else is undefined', () => {
    const now = Date.parse('2026-12-06T08:00:00Z')
    expect(parseRetryAfter('1', now)).toBe(1000)
    expect(parseRetryAfter(' 120 ', now)).toBe(120_000)
    expect(parseRetryAfter('Sun, 06 Dec 2026 08:00:03 GMT', now)).toBe(3000)
    expect(parseRetryAfter('Sun, 06 Dec 2026 07:59:00 GMT', now)).toBe(0)
    for (const bad of [undefined, '', '-1', '1.5', 'soon', '2026-12-06T08:00:03Z', 'Sun, 06 Dec 2026 08:00:03 PST'])
      expect(parseRetryAfter(bad, now), String(bad)).toBeUndefined()
  })

  it('any header value gives undefined or a finite wait of 0 or more (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.integer({ min: 0, max: 4e12 }), (v, now) => {
        const r = parseRetryAfter(v, now)
        return r === undefined || (Number.isFinite(r) && r >= 0)
      }),
      { numRuns: 10_000 },
    )
  })

  it('503 with Retry-After: 1 from the only server: the next try comes at least 1 s later', async () => {
    const a = await serve((n, _req, res) => (n === 1 ? json(res, 503, { message: 'busy' }, { 'retry-after': '1' }) : ok(n, _req, res)))
    const { post } = pool([a.url], { sleep: (ms) => new Promise((r) => setTimeout(r, ms)) })
    expect((await post()).value).toEqual({ sessionId: 's' })
    expect(a.hits).toHaveLength(2)
    expect(a.hits[1]! - a.hits[0]!).toBeGreaterThanOrEqual(1000)
  })

  it('429 with an HTTP-date: the next try waits until that date', async () => {
    let date = ''
    const a = await serve((n, req, res) => {
      if (n > 1) return ok(n, req, res)
      date = new Date(Date.now() + 2000).toUTCString() // whole seconds: 1 to 2 s from now
      json(res, 429, { message: 'slow down' }, { 'retry-after': date })
    })
    const { post } = pool([a.url], { sleep: (ms) => new Promise((r) => setTimeout(r, ms)) })
    await post()
    expect(a.hits).toHaveLength(2)
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(date))
    expect(a.hits[1]! - a.hits[0]!).toBeGreaterThanOrEqual(1000)
  })

  it('is capped, and holds for the server that sent it only', async () => {
    const a = await serve((_n, _req, res) => json(res, 503, {}, { 'retry-after': '3600' }))
    const b = await serve((_n, _req, res) => json(res, 503, {}))
    const { post, waits } = pool([a.url, b.url], { maxRetryAfterMs: 5_000, maxAttempts: 3 })
    await expect(post()).rejects.toBeInstanceOf(ProtocolError)
    // A -> B at once (backoff 0: random 0), B -> A no sooner than A's capped Retry-After
    expect(waits).toHaveLength(2)
    expect(waits[0]).toBe(0)
    expect(waits[1]).toBeGreaterThan(4_900)
    expect(waits[1]).toBeLessThanOrEqual(5_000)
  })
})

describe('failover between servers', () => {
  it('503, 429, 500, a refused connection and a cut connection each move to the next server', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`
    const cases: [string, Handler | undefined][] = [
      ['503', (_n, _r, res) => json(res, 503, { message: 'unavailable' })],
      ['429', (_n, _r, res) => json(res, 429, { message: 'rate limited' })],
      ['500', (_n, _r, res) => json(res, 500, { message: 'boom' })],
      ['refused', undefined],
      ['cut', (_n, _r, res) => res.socket?.destroy()],
    ]
    for (const [name, handler] of cases) {
      const a = handler ? await serve(handler) : { url: closed, hits: [] }
      const b = await serve(ok)
      const { post, lines } = pool([a.url, b.url])
      const r = await post()
      expect(r, name).toEqual({ value: { sessionId: 's' }, server: b.url })
      expect(b.hits, name).toHaveLength(1)
      expect(lines, name).toMatchObject([{ level: 'warn', msg: 'Server unavailable, trying the next', server: a.url, next: b.url }])
    }
  })

  it('a 4xx verdict is final: it is not taken to the other server', async () => {
    for (const status of [400, 403, 404, 410]) {
      const a = await serve((_n, _r, res) => json(res, status, { code: 'ERR_POLICY', message: 'refused' }))
      const b = await serve(ok)
      const { post } = pool([a.url, b.url])
      const e = await post().catch((x: unknown) => x)
      expect(e).toBeInstanceOf(ProtocolError)
      expect((e as ProtocolError).status).toBe(status)
      expect([a.hits.length, b.hits.length]).toEqual([1, 0])
    }
  })

  it('attempts are bounded; the backoff doubles with full jitter up to its cap', async () => {
    const a = await serve((_n, _r, res) => json(res, 503, {}))
    const b = await serve((_n, _r, res) => json(res, 502, {}))
    const { post, waits } = pool([a.url, b.url], { random: () => 1, baseDelayMs: 100, maxDelayMs: 500, maxAttempts: 6 })
    const e = await post().catch((x: unknown) => x)
    expect((e as ProtocolError).status).toBe(502) // the last server's answer
    expect(a.hits.length + b.hits.length).toBe(6)
    expect([a.hits.length, b.hits.length]).toEqual([3, 3])
    expect(waits).toEqual([100, 200, 400, 500, 500])
    const half = pool([a.url, b.url], { random: () => 0.5, baseDelayMs: 100, maxAttempts: 3 })
    await half.post().catch(() => undefined)
    expect(half.waits).toEqual([50, 100])
  })

  it('the server that answered stays first for the next request', async () => {
    const a = await serve((_n, _r, res) => json(res, 503, {}))
    const b = await serve(ok)
    const { p, post } = pool([a.url, b.url])
    await post()
    expect(p.server).toBe(b.url)
    await post()
    expect([a.hits.length, b.hits.length]).toEqual([1, 2])
  })

  it('what is retryable: no answer, 5xx and 429; not a 4xx or an error of the agent itself', () => {
    expect(isRetryable(new ConnectionError('http://a', new Error('ECONNREFUSED')))).toBe(true)
    expect(isRetryable(new ProtocolError(503, undefined, 'x'))).toBe(true)
    expect(isRetryable(new ProtocolError(429, undefined, 'x'))).toBe(true)
    expect(isRetryable(new ProtocolError(403, 'ERR_AGENT_BANNED', 'x'))).toBe(false)
    expect(isRetryable(new Error('agent.trustBundlePath is required for an https server'))).toBe(false)
  })
})
