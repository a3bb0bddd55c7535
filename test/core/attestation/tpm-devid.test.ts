/**
 * The DevID leaf profile in tpm_devid attestation (check `tpm_devid.devid.profile`): real tpm-a
 * evidence whose DevID leaf is re-issued by the committed DevID CA with one profile fault. Each
 * leaf chains, matches DevIDPub and would attest; the profile refuses it before any challenge
 * (ERR_DEVID_PROFILE, a message naming the certificate and the rule). The one tolerance,
 * `devid-other-eku`, admits a serverAuth-only leaf and is reported in the verdict (live TPM).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AttestationFailure } from '../../../core/attestor/checks.ts'
import { createAttestationVerifier } from '../../../core/attestation/verifier.ts'
import { OID } from '../../../core/der/oid.ts'
import { VerifyError } from '../../../core/errors.ts'
import { DEVID_INT, DEVID_ROOT, devidPolicy, ekHashOfPem, policies } from './fixtures.ts'
import { evidenceSet, LiveAgent } from './live-agent.ts'
import { b64, issueDevIdLeaf, type Overrides } from './profile-certs.ts'

const EK_HASH_A_RSA = ekHashOfPem('tpm-a/ek-rsa.pem')
const policy = (tolerate?: string[]) =>
  policies(devidPolicy({ devIDCACerts: DEVID_ROOT, allowedEKHashes: [EK_HASH_A_RSA], ...(tolerate ? { tolerate } : {}) }))

/** tpm-a's RSA DevID evidence with the leaf re-issued per `overrides`, the intermediate from the agent. */
async function evidenceWith(overrides: Overrides): Promise<Record<string, unknown>> {
  const leaf = await issueDevIdLeaf('tpm-a/devid-rsa.pem', overrides)
  const ev = evidenceSet('tpm-a-devid-rsa')
  return { ...ev, DevIDCert: [b64(leaf), (ev.DevIDCert as string[])[1]!] }
}

async function start(evidence: Record<string, unknown>, tolerate?: string[]) {
  const v = createAttestationVerifier({ policies: policy(tolerate) })
  return { v, started: await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidence } }) }
}

async function refusal(evidence: Record<string, unknown>, tolerate?: string[]): Promise<AttestationFailure> {
  const e = await start(evidence, tolerate).then(
    () => undefined,
    (x: unknown) => x,
  )
  expect(e).toBeInstanceOf(VerifyError)
  return e as AttestationFailure
}

function expectProfileFailure(f: AttestationFailure, rule: RegExp) {
  expect(f.code).toBe('ERR_DEVID_PROFILE')
  expect(f.message).toMatch(/^DevID certificate \(CN=profile-test-devid, serial [0-9a-f]+\): /)
  expect(f.message).toMatch(rule)
  const last = f.checks.at(-1)!
  expect(last).toMatchObject({ name: 'tpm_devid.devid.profile', ok: false })
  // everything before it passed: the leaf chains to the DevID CA
  expect(f.checks.slice(0, -1).every((c) => c.ok)).toBe(true)
  expect(f.checks.map((c) => c.name)).toContain('tpm_devid.devid.chain')
}

describe('DevID leaf profile: faults that SPIRE (and vouch before) accepted are refused', () => {
  it('a DevID leaf that is a CA (basicConstraints cA TRUE, keyCertSign)', async () => {
    const ev = await evidenceWith({ basicConstraints: { cA: true }, keyUsage: ['digitalSignature', 'keyCertSign'] })
    expectProfileFailure(await refusal(ev), /basicConstraints cA is true; a DevID leaf is not a CA/)
    // no tolerance relaxes it
    expectProfileFailure(await refusal(ev, ['devid-other-eku']), /not a CA/)
  })

  it('keyUsage keyEncipherment only: the DevID key may not sign the nonce', async () => {
    const ev = await evidenceWith({ keyUsage: ['keyEncipherment'] })
    expectProfileFailure(await refusal(ev), /keyUsage lacks digitalSignature/)
    expectProfileFailure(await refusal(ev, ['devid-other-eku']), /keyUsage lacks digitalSignature/)
  })

  it('extKeyUsage serverAuth only: refused unless the policy tolerates devid-other-eku', async () => {
    const ev = await evidenceWith({ extKeyUsage: ['serverAuth'] })
    expectProfileFailure(
      await refusal(ev),
      /extKeyUsage 1\.3\.6\.1\.5\.5\.7\.3\.1 allows neither client authentication nor a TCG DevID purpose \(tolerance devid-other-eku not enabled\)/,
    )
    const { started } = await start(ev, ['devid-other-eku'])
    expect(started.challenges.tpm_devid).toBeDefined()
  })

  it('an IAK-only purpose (tcg-cap-verifiedTPMRestricted) is not a DevID purpose', async () => {
    const ev = await evidenceWith({ extKeyUsage: [OID.verifiedTpmRestricted] })
    expectProfileFailure(await refusal(ev), /2\.23\.133\.11\.1\.3 allows neither/)
  })
})

describe('DevID leaf profile: what it accepts', () => {
  const accepted: [string, Overrides][] = [
    ['no keyUsage, no extKeyUsage, no basicConstraints', { keyUsage: undefined, basicConstraints: undefined }],
    ['extKeyUsage clientAuth', { extKeyUsage: ['clientAuth'] }],
    ['extKeyUsage serverAuth + clientAuth', { extKeyUsage: ['serverAuth', 'clientAuth'] }],
    ['extKeyUsage anyExtendedKeyUsage', { extKeyUsage: [OID.anyExtendedKeyUsage] }],
    [
      'extKeyUsage tcg-cap-verifiedTPMResidency + tcg-cap-verifiedTPMFixed',
      { extKeyUsage: [OID.verifiedTpmResidency, OID.verifiedTpmFixed] },
    ],
    ['keyUsage digitalSignature + keyEncipherment', { keyUsage: ['digitalSignature', 'keyEncipherment'] }],
  ]
  for (const [what, overrides] of accepted) {
    it(what, async () => {
      const { v, started } = await start(await evidenceWith(overrides))
      expect(started.challenges.tpm_devid).toBeDefined()
      void v
    })
  }
})

describe('a tolerated DevID leaf attests end to end and the verdict names the tolerance', () => {
  let a: LiveAgent
  beforeAll(async () => {
    a = await LiveAgent.start('tpm-a')
  })
  afterAll(async () => {
    await a?.stop()
  })

  it('serverAuth-only leaf with devid-other-eku: verdict ok, tolerancesUsed lists it; a compliant leaf uses none', async () => {
    for (const [overrides, want] of [
      [{ extKeyUsage: ['serverAuth'] }, [{ check: 'tpm_devid.devid.profile', tolerance: 'devid-other-eku' }]],
      [{ extKeyUsage: ['clientAuth'] }, []],
    ] as const) {
      const ev = await evidenceWith(overrides)
      const { v, started } = await start(ev, ['devid-other-eku'])
      const answer = await a.answer(started.challenges.tpm_devid as Record<string, unknown>, {
        devIdPub: ev.DevIDPub as string,
        akPub: ev.AKPub as string,
        ekPub: ev.EKPub as string,
      })
      const verdict = await v.answer(started.sessionId, { tpm_devid: answer })
      expect(verdict.ok).toBe(true)
      expect(verdict.tolerancesUsed).toEqual(want)
      const profile = verdict.checks.find((c) => c.name === 'tpm_devid.devid.profile')!
      expect(profile.ok).toBe(true)
      expect(profile.detail.includes('tolerated: devid-other-eku')).toBe(want.length > 0)
    }
  })
})

it('the committed DevID CA intermediate is the issuer the evidence carries', () => {
  // guards the helper: the re-issued leaf chains through the same intermediate as the fixtures
  expect((evidenceSet('tpm-a-devid-rsa').DevIDCert as string[])[1]).toBe(DEVID_INT.replace(/-----[^-]+-----|\s/g, ''))
})
