import { describe, expect, it } from 'vitest'
import { attestation, measureHttp, type Send } from '../../bench/http-bench.ts'

// The HTTP benchmark times only correct work: it starts one server process, attests through it
// with a live TPM answer, and would throw on any refused attestation. Tiny windows: this checks
// that the pipeline runs and reports coherent figures, not how fast it is.
describe('bench: HTTP end to end', () => {
  it('runs two round trips per attestation against one server process and reports rates and percentiles', async () => {
    const r = await measureHttp({ rounds: 1, sampleMs: 150, latencyMs: 150, concurrency: 4, warmupMs: 150 })
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
    const server = (startStatus: number, answerStatus: number, verdict?: string): Send => async (path) =>
      path === '/v1/attest' ? { status: startStatus, body: { sessionId: 's1' } } : { status: answerStatus, body: verdict ? { verdict } : { code: 'ERR_DEVID_SIGNATURE' } }
    await expect(attestation(server(200, 200, 'ok'), {}, {})()).resolves.toBeUndefined()
    await expect(attestation(server(403, 200, 'ok'), {}, {})()).rejects.toThrow(/start answered 403/)
    await expect(attestation(server(200, 403), {}, {})()).rejects.toThrow(/answer 403/)
    await expect(attestation(server(200, 200), {}, {})()).rejects.toThrow(/answer 200/)
  })
})
