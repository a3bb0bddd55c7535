// A session is answered under the policy it started with: a reload between start and answer (a new
// verifier on the same session store, as server/entry/policy-reload.ts builds it) changes neither
// the boot checks the answer must pass nor the SPIFFE ID template.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAttestationVerifier } from '../../../core/attestation/verifier.ts'
import { createMemorySessionStore } from '../../../core/session/store.ts'
import { DEVID_ROOT, EK_INT, EK_ROOT, devidPolicy, policies } from './fixtures.ts'
import { evidenceSet, LiveAgent } from './live-agent.ts'

let a: LiveAgent
beforeAll(async () => {
  a = await LiveAgent.start('tpm-a')
}, 60_000)
afterAll(async () => {
  await a?.stop()
})

const base = { devIDCACerts: DEVID_ROOT, endorsementCACerts: EK_ROOT + EK_INT }
const ev = () => evidenceSet('tpm-a-devid-rsa') as Record<string, string>

async function answerOf(challenge: unknown) {
  const e = ev()
  return a.answer(challenge as Record<string, unknown>, { devIdPub: e.DevIDPub!, akPub: e.AKPub!, ekPub: e.EKPub! })
}

describe('policy reload between start and answer', () => {
  it('a session started under a boot policy still needs its quote after a reload drops the boot block', async () => {
    const sessions = createMemorySessionStore()
    const before = createAttestationVerifier({ policies: policies(devidPolicy({ ...base, boot: { secureBoot: 'required' } })), sessions })
    const after = createAttestationVerifier({ policies: policies(devidPolicy(base)), sessions })
    const started = await before.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev() } })
    expect((started.challenges.tpm_devid as Record<string, unknown>).Quote).toBeDefined()
    const answer = await answerOf(started.challenges.tpm_devid)
    await expect(after.answer(started.sessionId, { tpm_devid: answer })).rejects.toMatchObject({ code: 'ERR_BOOT_QUOTE_MISSING' })
  }, 60_000)

  it('a session started under a boot policy that a reload removed is judged by that policy, not refused as unknown', async () => {
    const sessions = createMemorySessionStore()
    const before = createAttestationVerifier({
      policies: policies(devidPolicy({ ...base, boot: { secureBoot: 'required' } }, {}, 'p_old')),
      sessions,
    })
    const after = createAttestationVerifier({ policies: policies(devidPolicy(base, {}, 'p_new')), sessions })
    const started = await before.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev() } })
    const answer = await answerOf(started.challenges.tpm_devid)
    // the same refusal as before the reload: the missing quote, not ERR_POLICY_DENIED
    await expect(after.answer(started.sessionId, { tpm_devid: answer })).rejects.toMatchObject({ code: 'ERR_BOOT_QUOTE_MISSING' })
  }, 60_000)
})
