import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { withPlatform } from '../../core/platform.ts'
import { createAttestationCaches } from '../../core/attestation/caches.ts'
import { createNodePlatform } from '../../runtimes/node/index.ts'
import { baselineFor } from '../../bench/baseline.ts'
import { floorFor } from '../../bench/floor.ts'
import { attestOnce, buildWorkloads, type AttestationWorkload } from '../../bench/workloads.ts'

// The benchmark measures correct work only: every pipeline it times (floor, pkijs baseline, vouch
// with and without cached intermediates) accepts the genuine attestation and refuses a bent one.
let workloads: AttestationWorkload[]
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ workloads, stop } = await buildWorkloads(createNodePlatform()))
}, 120_000)
afterAll(async () => {
  await stop?.()
})

describe('bench workloads', () => {
  it('builds the four tpm_devid workloads from live TPM answers', () => {
    expect(workloads.map((w) => w.name)).toHaveLength(4)
  })

  it('every timed pipeline accepts the genuine attestation, twice (cached path included)', async () => {
    const cached = withPlatform(createAttestationCaches(), createNodePlatform())
    for (const w of workloads) {
      const f = floorFor(w)
      expect(() => f.full()).not.toThrow()
      expect(() => f.cachedIntermediates()).not.toThrow()
      await baselineFor(w)()
      const once = attestOnce(w, cached)
      await once()
      await once()
    }
  }, 60_000)

  it('vouch verifies as many signatures per attestation as the floor it is compared with, cached or not', async () => {
    for (const w of workloads) {
      const base = createNodePlatform()
      let verifies = 0
      const counting = withPlatform(
        {
          crypto: {
            ...base.crypto,
            verify: (...a: Parameters<typeof base.crypto.verify>) => {
              verifies++
              return base.crypto.verify(...a)
            },
          },
        },
        base,
      )
      const cached = withPlatform(createAttestationCaches(), counting)
      const expected = floorFor(w).signatures
      await attestOnce(w, counting)()
      expect(verifies, w.name).toBe(expected.full)
      await attestOnce(w, cached)() // warms the caches
      verifies = 0
      await attestOnce(w, cached)()
      expect(verifies, `${w.name}, cached intermediates`).toBe(expected.cachedIntermediates)
    }
  }, 60_000)

  it('and refuses a bent answer: a flipped DevID signature fails in all three', async () => {
    for (const w of workloads) {
      const a = w.answers.tpm_devid as Record<string, string>
      const sig = Buffer.from(a.DevID!, 'base64')
      sig[sig.length - 3]! ^= 1
      const bent = { ...w, answers: { tpm_devid: { ...a, DevID: sig.toString('base64') } } }
      expect(() => floorFor(bent).full()).toThrow()
      await expect(baselineFor(bent)()).rejects.toThrow()
      await expect(attestOnce(bent, createNodePlatform())()).rejects.toThrow()
    }
  }, 60_000)
})
