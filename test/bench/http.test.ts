import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { attestOnce, measureHttp, openHttpBench, type HttpBench } from '../../bench/http.ts'

// The HTTP benchmark (bench/http.ts) times correct work only: one server process and the same app
// in process both refuse a bent answer, and the measurement checks every attestation. Tiny windows:
// this checks that the pipeline runs and reports coherent figures, not how fast it is.
let bench: HttpBench
beforeAll(async () => {
  bench = await openHttpBench()
}, 120_000)
afterAll(async () => {
  await bench?.close()
})

/** the benchmark's answer with one byte of the DevID signature flipped */
function bentAnswer(): string {
  const body = JSON.parse(bench.answerJson) as { answers: { tpm_devid: Record<string, string> } }
  const sig = Buffer.from(body.answers.tpm_devid.DevID!, 'base64')
  sig[sig.length - 3]! ^= 1
  body.answers.tpm_devid.DevID = sig.toString('base64')
  return JSON.stringify(body)
}

describe('bench: HTTP end to end', () => {
  it('a bent answer (flipped DevID signature) is refused with a 4xx, over HTTP and in process', async () => {
    const bent = bentAnswer()
    for (const send of [bench.overHttp, bench.inProcess]) {
      const start = await send('/v1/attest', bench.startJson)
      expect(start.status).toBe(200)
      const answer = await send(`/v1/attest/${start.body.sessionId as string}/answer`, bent)
      expect(answer.status).toBeGreaterThanOrEqual(400)
      expect(answer.status).toBeLessThan(500)
      expect(answer.body.verdict).toBeUndefined()
      const tally = { ok: 0, failed: 0 }
      await expect(attestOnce(send, bench.startJson, bent, tally)).rejects.toThrow(/attestation refused: answer 4\d\d/)
      expect(tally).toEqual({ ok: 0, failed: 1 })
      // the genuine answer still passes
      await attestOnce(send, bench.startJson, bench.answerJson, tally)
      expect(tally).toEqual({ ok: 1, failed: 1 })
    }
  })

  it('measures with every attestation verified, rates above 0 and ordered percentiles', async () => {
    const r = await measureHttp({ bench, concurrency: 4, rounds: 2, sampleMs: 100, warmupMs: 50, latencyMs: 200 })
    expect(r.attestations.failed).toBe(0)
    expect(r.attestations.http).toBeGreaterThan(0)
    expect(r.attestations.inProcess).toBeGreaterThan(0)
    expect(r.http.opsPerSec).toBeGreaterThan(0)
    expect(r.inProcess.opsPerSec).toBeGreaterThan(0)
    expect(r.ratio).toBeGreaterThan(0)
    expect(r.latency.map((l) => l.concurrency)).toEqual([1, 4])
    for (const l of r.latency) {
      expect(l.attestations).toBeGreaterThan(0)
      expect(l.opsPerSec).toBeGreaterThan(0)
      expect(l.p50Ms).toBeGreaterThan(0)
      expect(l.p50Ms).toBeLessThanOrEqual(l.p95Ms)
      expect(l.p95Ms).toBeLessThanOrEqual(l.p99Ms)
      expect(l.p99Ms).toBeLessThanOrEqual(l.maxMs)
    }
  }, 60_000)
})
