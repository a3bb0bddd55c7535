/**
 * Hostile bodies never reach a 500 and never disturb a live session: random JSON values and
 * mutated real evidence (fields dropped, retyped, truncated, flipped) all get a 4xx with a
 * `{ code, message }` body.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { evidenceSet } from '../core/attestation/live-agent.ts'
import { DEFAULT_RATE_LIMIT } from '../../server/limits-config.ts'
import { makeTestServer, postJson } from './harness.ts'

// every hostile body reaches the routes: no 429 hides a 500
const NO_RATE_LIMIT = { ...DEFAULT_RATE_LIMIT, enabled: false }

const REAL = evidenceSet('tpm-a-devid-rsa') as Record<string, unknown>

function expectClientError(status: number, body: unknown) {
  expect(status).toBeGreaterThanOrEqual(400)
  expect(status).toBeLessThan(500)
  expect(status).not.toBe(429)
  expect(body).toEqual({ code: expect.stringMatching(/^ERR_[A-Z0-9_]+$/), message: expect.any(String) })
}

const mutateString = (s: string) =>
  fc.oneof(
    fc.nat({ max: s.length }).map((n) => s.slice(0, n)),
    fc.string({ maxLength: 20 }).map((x) => s + x),
    fc
      .tuple(fc.nat({ max: Math.max(0, s.length - 1) }), fc.constantFrom('A', '/', '+', '=', '*', ''))
      .map(([i, c]) => s.slice(0, i) + c + s.slice(i + 1)),
  )

const mutatedEvidence = fc
  .dictionary(fc.constantFrom(...Object.keys(REAL)), fc.constantFrom('drop', 'retype', 'mutate'), { maxKeys: 3 })
  .chain((ops) => {
    const out: Record<string, fc.Arbitrary<unknown>> = {}
    for (const [k, v] of Object.entries(REAL)) {
      const op = ops[k]
      if (op === 'drop') continue
      if (op === 'retype') out[k] = fc.oneof(fc.integer(), fc.constant(null), fc.boolean(), fc.object())
      else if (op === 'mutate') out[k] = typeof v === 'string' ? mutateString(v) : fc.constant([(v as string[])[1], (v as string[])[0]])
      else out[k] = fc.constant(v)
    }
    return fc.record(out)
  })
  .filter((ev) => JSON.stringify(ev) !== JSON.stringify(REAL))

describe('server app under hostile bodies', () => {
  it('random JSON values to both routes: 4xx with {code, message}, the live session untouched', async () => {
    const s = await makeTestServer({ rateLimit: NO_RATE_LIMIT })
    const live = (await (
      await postJson(s.app, '/v1/attest', { providedMethods: ['tpm_devid'], evidence: { tpm_devid: REAL } })
    ).json()) as { sessionId: string }
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue({ maxDepth: 3 }),
        fc.constantFrom('/v1/attest', `/v1/attest/${'B'.repeat(32)}/answer`),
        async (v, path) => {
          const res = await postJson(s.app, path, JSON.stringify(v))
          expectClientError(res.status, await res.json())
        },
      ),
      { numRuns: 2000 },
    )
    expect(s.sessions.active()).toBe(1)
    expect(await s.sessions.take(live.sessionId)).toBeDefined()
  }, 60_000)

  it('mutated real evidence: a 4xx with a code, never a 500', async () => {
    const s = await makeTestServer({ rateLimit: NO_RATE_LIMIT })
    await fc.assert(
      fc.asyncProperty(mutatedEvidence, async (ev) => {
        const res = await postJson(s.app, '/v1/attest', { providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
        const body = await res.json()
        if (res.status === 200) return // a mutation that kept the evidence valid (e.g. DevIDCert reordered is refused, padding-equivalent base64 may pass)
        expectClientError(res.status, body)
      }),
      { numRuns: 400 },
    )
    expect(s.logs.some((l) => l.level === 'error')).toBe(false)
  }, 60_000)

  it('hostile SVID key fields (publicKey, keyProof, csr) on a live and an unknown session: a 4xx with a code, never a 500', async () => {
    const s = await makeTestServer({ rateLimit: NO_RATE_LIMIT })
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])) as CryptoKeyPair
    const spki = Buffer.from(await crypto.subtle.exportKey('spki', pair.publicKey)).toString('base64')
    const b64 = fc.uint8Array({ maxLength: 120 }).map((b) => Buffer.from(b).toString('base64'))
    const field = fc.oneof(b64, fc.constant(spki), mutateString(spki), fc.integer(), fc.constant(null), fc.string({ maxLength: 40 }))
    await fc.assert(
      fc.asyncProperty(
        fc.record({ publicKey: field, keyProof: field, csr: field }, { requiredKeys: [] }),
        fc.boolean(),
        async (fields, live) => {
          let path = `/v1/attest/${'C'.repeat(32)}/answer`
          if (live) {
            const started = await postJson(s.app, '/v1/attest', { providedMethods: ['tpm_devid'], evidence: { tpm_devid: REAL } })
            path = `/v1/attest/${((await started.json()) as { sessionId: string }).sessionId}/answer`
          }
          const res = await postJson(s.app, path, { answers: { tpm_devid: { DevID: 'AA==', CredActivation: 'AA==' } }, ...fields })
          expectClientError(res.status, await res.json())
        },
      ),
      { numRuns: 300 },
    )
    expect(s.logs.some((l) => l.level === 'error')).toBe(false)
  }, 60_000)
})
