/**
 * The TCG EK credential profile in attestation (check `<type>.ek.profile`, shared by tpm_devid and
 * tpm_ek): tpm-a's real evidence with its RSA EK certificate re-issued by a test EK CA, one profile
 * field removed or changed. Each would be trusted by the CA; the profile refuses it
 * (ERR_EK_PROFILE, a message naming the certificate and the rule) unless the policy turns on the
 * named tolerance, which the verdict then reports.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { AttestationFailure } from '../../../core/attestor/checks.ts'
import { createAttestationVerifier } from '../../../core/attestation/verifier.ts'
import { OID } from '../../../core/der/oid.ts'
import { VerifyError } from '../../../core/errors.ts'
import { DEVID_ROOT, devidPolicy, ekPolicy, policies } from '../attestation/fixtures.ts'
import { evidenceSet, LiveAgent, tpmt } from '../attestation/live-agent.ts'
import { b64, makeTestEkCa, TCG_RSA_EK, type Overrides, type TestEkCa } from '../attestation/profile-certs.ts'

let ca: TestEkCa
let a: LiveAgent
beforeAll(async () => {
  ;[ca, a] = await Promise.all([makeTestEkCa(), LiveAgent.start('tpm-a')])
})
afterAll(async () => {
  await a?.stop()
})

type Attestor = 'tpm_devid' | 'tpm_ek'

function policyFor(type: Attestor, tolerate?: string[]) {
  const t = tolerate ? { tolerate } : {}
  return type === 'tpm_devid'
    ? policies(devidPolicy({ devIDCACerts: DEVID_ROOT, endorsementCACerts: ca.pem, ...t }))
    : policies(ekPolicy({ endorsementCACerts: ca.pem, ...t }))
}

/** tpm-a's evidence for `type` with its RSA EK certificate re-issued by the test CA per `template`. */
async function evidence(type: Attestor, template: Overrides): Promise<Record<string, unknown>> {
  const EKCert = b64(await ca.issue('tpm-a/ek-rsa.pem', template))
  if (type === 'tpm_devid') return { ...evidenceSet('tpm-a-devid-rsa'), EKCert }
  return { EKCert, EKPub: a.ekPubOf('rsa'), AKPub: tpmt('tpm-a', 'ak-rsa') }
}

async function start(type: Attestor, ev: Record<string, unknown>, tolerate?: string[]) {
  const v = createAttestationVerifier({ policies: policyFor(type, tolerate) })
  return { v, started: await v.start({ providedMethods: [type], evidence: { [type]: ev } }) }
}

async function refusal(type: Attestor, ev: Record<string, unknown>, tolerate?: string[]): Promise<AttestationFailure> {
  const e = await start(type, ev, tolerate).then(
    () => undefined,
    (x: unknown) => x,
  )
  expect(e).toBeInstanceOf(VerifyError)
  return e as AttestationFailure
}

function expectProfileFailure(type: Attestor, f: AttestationFailure, rule: RegExp) {
  expect(f.code).toBe('ERR_EK_PROFILE')
  expect(f.message).toMatch(/^EK certificate \(serial [0-9a-f]+, issuer CN=vouch profile-test EK CA\): /)
  expect(f.message).toMatch(rule)
  expect(f.checks.at(-1)).toMatchObject({ name: `${type}.ek.profile`, ok: false })
  expect(f.checks.slice(0, -1).every((c) => c.ok)).toBe(true)
}

const without = (key: keyof Overrides): Overrides => ({ ...TCG_RSA_EK, [key]: undefined })

/** Each EK certificate fault vouch accepted before, the rule it breaks, and the tolerance that relaxes it. */
const FAULTS: { what: string; template: Overrides; rule: RegExp; tolerance: string }[] = [
  {
    what: 'no extKeyUsage',
    template: without('extKeyUsage'),
    rule: /has no extKeyUsage; the EK profile requires tcg-kp-EKCertificate \(2\.23\.133\.8\.1\) \(tolerance ek-missing-eku not enabled\)/,
    tolerance: 'ek-missing-eku',
  },
  {
    what: 'no keyUsage',
    template: without('keyUsage'),
    rule: /has no keyUsage; the EK profile requires keyEncipherment \(RSA EK\) \(tolerance ek-missing-key-usage not enabled\)/,
    tolerance: 'ek-missing-key-usage',
  },
  {
    what: 'no basicConstraints',
    template: without('basicConstraints'),
    rule: /has no basicConstraints; the EK profile requires cA FALSE \(tolerance ek-missing-basic-constraints not enabled\)/,
    tolerance: 'ek-missing-basic-constraints',
  },
  {
    what: 'a named subject and no subjectAltName (GCE-style)',
    template: { ...without('subjectAltName'), subject: [{ type: 'CN', value: 'instance-1' }], subjectAltNameCritical: false },
    rule: /has no subjectAltName with the TPM manufacturer, model and version \(tolerance ek-missing-tpm-identity not enabled\)/,
    tolerance: 'ek-missing-tpm-identity',
  },
]

describe('EK profile faults are refused without their tolerance and accepted with it', () => {
  for (const type of ['tpm_devid', 'tpm_ek'] as const) {
    for (const f of FAULTS) {
      it(`${type}: ${f.what} -> ${f.tolerance}`, async () => {
        const ev = await evidence(type, f.template)
        expectProfileFailure(type, await refusal(type, ev), f.rule)
        // another tolerance does not help
        const others = FAULTS.map((x) => x.tolerance).filter((t) => t !== f.tolerance)
        expectProfileFailure(type, await refusal(type, ev, others), f.rule)
        const { started } = await start(type, ev, [f.tolerance])
        expect(started.challenges[type]).toBeDefined()
      })
    }
  }
})

describe('EK profile rules no tolerance relaxes', () => {
  const all = FAULTS.map((f) => f.tolerance)
  const cases: [string, Overrides, RegExp][] = [
    [
      'a CA (basicConstraints cA TRUE)',
      { ...TCG_RSA_EK, basicConstraints: { cA: true } },
      /basicConstraints cA is true; an EK certificate is not a CA/,
    ],
    [
      'keyUsage digitalSignature on an RSA EK',
      { ...TCG_RSA_EK, keyUsage: ['digitalSignature'] },
      /keyUsage lacks keyEncipherment \(RSA EK\)/,
    ],
    ['keyUsage with keyCertSign', { ...TCG_RSA_EK, keyUsage: ['keyEncipherment', 'keyCertSign'] }, /keyCertSign or cRLSign/],
    [
      'an AIK purpose instead of the EK purpose',
      { ...TCG_RSA_EK, extKeyUsage: [OID.aikCertificate] },
      /extKeyUsage 2\.23\.133\.8\.3 lacks tcg-kp-EKCertificate/,
    ],
    ['an empty subject and no subjectAltName', without('subjectAltName'), /empty subject and no subjectAltName/],
  ]
  for (const [what, template, rule] of cases) {
    it(what, async () => {
      const ev = await evidence('tpm_ek', template)
      expectProfileFailure('tpm_ek', await refusal('tpm_ek', ev, all), rule)
    })
  }
})

describe('tolerated EK certificates attest end to end; the verdict names each tolerance used', () => {
  it('tpm_ek, GCE-style EK certificate (no EKU, no SAN): both tolerances reported, no TPM identity attributes', async () => {
    const ev = await evidence('tpm_ek', {
      ...TCG_RSA_EK,
      extKeyUsage: undefined,
      subjectAltName: undefined,
      subjectAltNameCritical: false,
      subject: [{ type: 'CN', value: 'instance-1' }],
    })
    const { v, started } = await start('tpm_ek', ev, ['ek-missing-tpm-identity', 'ek-missing-eku', 'ek-missing-key-usage'])
    const answer = await a.answer(started.challenges.tpm_ek as Record<string, unknown>, {
      akPub: ev.AKPub as string,
      ekPub: ev.EKPub as string,
    })
    const verdict = await v.answer(started.sessionId, { tpm_ek: answer })
    expect(verdict.ok).toBe(true)
    // only what was needed, in a fixed order; ek-missing-key-usage was enabled but not used
    expect(verdict.tolerancesUsed).toEqual([
      { check: 'tpm_ek.ek.profile', tolerance: 'ek-missing-eku' },
      { check: 'tpm_ek.ek.profile', tolerance: 'ek-missing-tpm-identity' },
    ])
    expect(verdict.attributes['tpm_ek.manufacturer']).toBeUndefined()
    expect(verdict.checks.find((c) => c.name === 'tpm_ek.ek.profile')?.detail).toBe(
      'TCG EK credential profile; no TPM identity; tolerated: ek-missing-eku, ek-missing-tpm-identity',
    )
  })

  it('tpm_devid with a compliant EK certificate: no tolerance used even when enabled', async () => {
    const ev = await evidence('tpm_devid', TCG_RSA_EK)
    const { v, started } = await start('tpm_devid', ev, ['ek-missing-eku', 'devid-other-eku'])
    const answer = await a.answer(started.challenges.tpm_devid as Record<string, unknown>, {
      devIdPub: ev.DevIDPub as string,
      akPub: ev.AKPub as string,
      ekPub: ev.EKPub as string,
    })
    const verdict = await v.answer(started.sessionId, { tpm_devid: answer })
    expect(verdict.tolerancesUsed).toEqual([])
    expect(verdict.attributes['tpm_devid.ek.manufacturer']).toBe('id:00001014')
  })
})
