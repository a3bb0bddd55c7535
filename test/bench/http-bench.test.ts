import { describe, expect, it } from 'vitest'
import { createServer } from 'node:http'
import { attestation, httpClient, measureHttp, type Send } from '../../bench/http-bench.ts'

// The HTTP benchmark times only correct work: it starts one server process, attests through it
// with a live TPM answer, and would throw on any refused attestation. Tiny windows: this checks
// that the pipeline runs and reports coherent figures, not how fast it is.
describe('bench: HTTP end to end', () => {
  it('runs two round trips per attestation against one server process and reports rates and percentiles', async () => {
    const r = await measureHttp({ rounds: 1, sampleMs: 150, latencyMs: 150, concurrency: 4, warmupMs: 150, warmupOps: 0 })
    expect(r.http.opsPerSec).toBeGreaterThan(0)
    expect(r.inProcess.opsPerSec).toBeGreaterThan(0)
    expect(r.ratio).toBeGreaterThan(0)
    expect(r.latency.map((l) => l.concurrency)).toEqual([1, 4])
    for (const l of r.latency) {
      expect(l.attestations).toBeGreaterThan(0)
      expect(l.p50Ms).toBeLessThanOrEqual(l.p95Ms)
      expect(l.p95Ms).toBeLessThanOrEqual(l.p99Ms)
    }
  }, 120_000)

  it('counts an attestation only when the server answers 200 with verdict ok, on both round trips', async () => {
    const server =
      (startStatus: number, answerStatus: number, verdict?: string): Send =>
      async (path) =>
        path === '/v1/attest'
          ? { status: startStatus, body: { sessionId: 's1' } }
          : { status: answerStatus, body: verdict ? { verdict } : { code: 'ERR_DEVID_SIGNATURE' } }
    await expect(attestation(server(200, 200, 'ok'), {}, {})()).resolves.toBeUndefined()
    await expect(attestation(server(403, 200, 'ok'), {}, {})()).rejects.toThrow(/start answered 403/)
    await expect(attestation(server(200, 403), {}, {})()).rejects.toThrow(/answer 403/)
    await expect(attestation(server(200, 200), {}, {})()).rejects.toThrow(/answer 200/)
  })

  it('the agent-side client POSTs JSON over keep-alive sockets and returns status and parsed body', async () => {
    const seen: { path: string; body: unknown; type: string | undefined; socket: unknown }[] = []
    const server = createServer((req, res) => {
      let text = ''
      req.on('data', (c: Buffer) => (text += c.toString()))
      req.on('end', () => {
        seen.push({ path: req.url!, body: JSON.parse(text), type: req.headers['content-type'], socket: req.socket })
        if (req.url === '/bad') {
          res.writeHead(500).end('not json')
          return
        }
        res
          .writeHead(req.url === '/denied' ? 403 : 200, { 'content-type': 'application/json' })
          .end(JSON.stringify({ echo: JSON.parse(text), path: req.url }))
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as { port: number }
    const send = httpClient(`http://127.0.0.1:${port}`, 1)
    try {
      expect(await send('/v1/attest', { a: 1, s: 'é' })).toEqual({ status: 200, body: { echo: { a: 1, s: 'é' }, path: '/v1/attest' } })
      expect(await send('/denied', [])).toEqual({ status: 403, body: { echo: [], path: '/denied' } })
      await expect(send('/bad', {})).rejects.toThrow(SyntaxError)
      expect(seen.map((s) => s.type)).toEqual(['application/json', 'application/json', 'application/json'])
      // one pooled connection carried all three requests
      expect(new Set(seen.map((s) => s.socket)).size).toBe(1)
    } finally {
      send.close()
      server.close()
    }
  })
})
