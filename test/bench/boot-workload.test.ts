import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { bootFloorFor } from '../../bench/floor.ts'
import { attestOnce, buildBootWorkload, type BootWorkload } from '../../bench/workloads.ts'
import { createAttestationCaches } from '../../core/attestation/caches.ts'
import { parseEventLog } from '../../core/eventlog/parse.ts'
import { withPlatform } from '../../core/platform.ts'
import { createNodePlatform } from '../../runtimes/node/index.ts'

// The boot row measures correct work only: the floor and vouch (with and without the server caches)
// accept the genuine quote and real log, and vouch refuses the same answer with one log byte changed.
let w: BootWorkload
let stop: () => Promise<void>
beforeAll(async () => {
  ;({ workload: w, stop } = await buildBootWorkload(createNodePlatform()))
}, 120_000)
afterAll(async () => {
  await stop?.()
})

describe('bench boot workload', () => {
  it('floor and vouch accept the genuine attestation, twice, cached or not', async () => {
    const f = bootFloorFor(w)
    expect(() => f.full()).not.toThrow()
    expect(() => f.cachedIntermediates()).not.toThrow()
    for (const platform of [createNodePlatform(), withPlatform(createAttestationCaches(), createNodePlatform())]) {
      const once = attestOnce(w, platform)
      await once()
      await once()
    }
  }, 60_000)

  it('vouch refuses the answer when one digest bit of the log differs (the cache compares the whole log)', async () => {
    const cached = withPlatform(createAttestationCaches(), createNodePlatform())
    await attestOnce(w, cached)()
    const log = new Uint8Array(w.eventLog)
    // one bit of the SHA-256 digest of the first PCR 7 event
    const e = parseEventLog(log).events.find((x) => x.pcr === 7)!
    const d = e.digests.find((x) => x.alg === 0x000b)!.digest
    log[d.byteOffset - log.byteOffset]! ^= 1
    const answer = w.answers.tpm_devid as { Quote: Record<string, unknown> }
    const bent = { ...w, answers: { tpm_devid: { ...answer, Quote: { ...answer.Quote, EventLog: Buffer.from(log).toString('base64') } } } }
    await expect(attestOnce(bent, cached)()).rejects.toMatchObject({ code: 'ERR_BOOT_REPLAY_MISMATCH' })
  }, 60_000)
})
