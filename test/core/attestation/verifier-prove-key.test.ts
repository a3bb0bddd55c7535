/**
 * The verifier's `proveKey` hook (the SVID key's proof of possession): run only once the session
 * is found live and taken, before the answers' proofs; its failure fails the answer with its own
 * code and the check `svid_key.possession`; its detail joins the trail.
 */
import { describe, expect, it } from 'vitest'
import { AttestationFailure } from '../../../core/attestor/checks.ts'
import { createAttestationVerifier } from '../../../core/attestation/verifier.ts'
import { AttestationError } from '../../../core/errors.ts'
import { withPlatform } from '../../../core/platform.ts'
import { createMemorySessionStore } from '../../../core/session/store.ts'
import { DEVID_ROOT, EK_INT, EK_ROOT, devidPolicy, policies } from './fixtures.ts'
import { evidenceSet } from './live-agent.ts'

const POLICIES = policies(devidPolicy({ devIDCACerts: DEVID_ROOT, endorsementCACerts: EK_ROOT + EK_INT }))
const EVIDENCE = { providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidenceSet('tpm-a-devid-rsa') } }
const ANSWERS = { tpm_devid: { DevID: 'AA==', CredActivation: 'AA==' } }
const binding = new Uint8Array(32).fill(3)

function setup() {
  const clock = { t: Date.now() }
  const platform = withPlatform({ now: () => clock.t })
  const sessions = createMemorySessionStore({ now: () => clock.t })
  const v = createAttestationVerifier({ policies: POLICIES, platform, sessions })
  return { v, clock, sessions }
}

async function failure(p: Promise<unknown>): Promise<AttestationFailure> {
  const e = await p.then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(AttestationFailure)
  return e as AttestationFailure
}

describe('verifier answer: proveKey', () => {
  it('is not run for an unknown or an expired session', async () => {
    const { v, clock } = setup()
    let calls = 0
    const proveKey = async () => {
      calls++
      return 'proven'
    }
    expect((await failure(v.answer('Z'.repeat(32), ANSWERS, { binding, proveKey }))).code).toBe('ERR_SESSION_UNKNOWN')
    const started = await v.start(EVIDENCE)
    clock.t += 10 * 60_000
    expect((await failure(v.answer(started.sessionId, ANSWERS, { binding, proveKey }))).code).toBe('ERR_SESSION_EXPIRED')
    expect(calls).toBe(0)
  })

  it('a failing proof fails the live session with its code, before the TPM answers are read; the session is used up', async () => {
    const { v, sessions } = setup()
    const started = await v.start(EVIDENCE)
    const e = await failure(
      v.answer(started.sessionId, ANSWERS, {
        binding,
        proveKey: async () => {
          throw new AttestationError('ERR_SVID_KEY_UNPROVEN', 'keyProof: does not verify')
        },
      }),
    )
    expect([e.code, e.message]).toEqual(['ERR_SVID_KEY_UNPROVEN', 'keyProof: does not verify'])
    expect(e.checks.at(-1)).toEqual({ name: 'svid_key.possession', ok: false, detail: 'keyProof: does not verify' })
    expect(e.checks.some((c) => c.name.startsWith('tpm_devid.answer'))).toBe(false)
    expect(await sessions.size()).toBe(0)
  })

  it('a passing proof joins the trail with its detail, then the answers are checked', async () => {
    const { v } = setup()
    const started = await v.start(EVIDENCE)
    const e = await failure(v.answer(started.sessionId, ANSWERS, { binding, proveKey: async () => 'keyProof verifies' }))
    const names = e.checks.map((c) => c.name)
    expect(e.checks.find((c) => c.name === 'svid_key.possession')).toEqual({
      name: 'svid_key.possession',
      ok: true,
      detail: 'keyProof verifies',
    })
    expect(names.indexOf('svid_key.possession')).toBeLessThan(names.indexOf('tpm_devid.answer'))
    expect(e.code).toMatch(/^ERR_(DEVID_SIGNATURE|EVIDENCE_MALFORMED)$/)
  })
})
