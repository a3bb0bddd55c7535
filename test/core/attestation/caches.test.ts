/**
 * The attestation caches of a server platform (core/attestation/caches.ts) remove parsing and CA
 * signature checks that a re-attesting agent repeats, and nothing else: verdicts equal the
 * uncached verifier's, and every bent attestation that reuses cached certificates and TPM keys
 * still fails at its check. Real swtpm evidence with a live fixture TPM answering.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AttestationFailure } from '../../../core/attestor/checks.ts'
import { createAttestationCaches } from '../../../core/attestation/caches.ts'
import { tpmNameOf } from '../../../core/attestor/tpm.ts'
import { parseTpmKeyCached } from '../../../core/attestor/tpm-key-cache.ts'
import { createAttestationVerifier, type Verdict } from '../../../core/attestation/verifier.ts'
import { defaultPlatform, withPlatform, type Platform } from '../../../core/platform.ts'
import { DEVID_ROOT, EK_INT, EK_ROOT, devidPolicy, policies } from './fixtures.ts'
import { evidenceSet, LiveAgent, vector, vectorB64 } from './live-agent.ts'

let a: LiveAgent
beforeAll(async () => {
  a = await LiveAgent.start('tpm-a')
})
afterAll(async () => {
  await a?.stop()
})

const CA_TRUST = policies(devidPolicy({ devIDCACerts: DEVID_ROOT, endorsementCACerts: EK_ROOT + EK_INT }))

async function attest(platform: Platform, evidence: Record<string, unknown>): Promise<Verdict> {
  const v = createAttestationVerifier({ policies: CA_TRUST, platform, trustDomain: 'example.org' })
  const started = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidence } })
  const ev = evidence as Record<string, string>
  const answer = await a.answer(started.challenges.tpm_devid as Record<string, unknown>, {
    devIdPub: ev.DevIDPub!,
    akPub: ev.AKPub!,
    ekPub: ev.EKPub!,
  })
  return v.answer(started.sessionId, { tpm_devid: answer })
}

async function startFailure(platform: Platform, evidence: Record<string, unknown>): Promise<AttestationFailure> {
  const v = createAttestationVerifier({ policies: CA_TRUST, platform })
  const e = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidence } }).then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(AttestationFailure)
  return e as AttestationFailure
}

describe('attestation caches', () => {
  it('a re-attesting agent gets the verdict the uncached verifier gives, and the caches hold its certificates and keys', async () => {
    const caches = createAttestationCaches()
    const cached = withPlatform(caches)
    const ev = evidenceSet('tpm-a-devid-rsa')
    const plain = await attest(defaultPlatform(), ev)
    const first = await attest(cached, ev)
    const again = await attest(cached, evidenceSet('tpm-a-devid-rsa'))
    for (const v of [plain, first, again]) expect(v.ok).toBe(true)
    const facts = (v: Verdict) => ({
      attributes: v.attributes,
      selectors: v.selectors,
      spiffeId: v.spiffeId,
      checks: v.checks.map((c) => [c.name, c.ok, c.detail]),
    })
    expect(facts(first)).toEqual(facts(plain))
    expect(facts(again)).toEqual(facts(plain))
    // DevID leaf + intermediate + EK certificate; DevID, AK and EK publics
    expect(caches.certificates.size).toBe(3)
    expect(caches.tpmKeys.size).toBe(3)
  })

  it('with warm caches, bent evidence still fails at its check', async () => {
    const cached = withPlatform(createAttestationCaches())
    expect((await attest(cached, evidenceSet('tpm-a-devid-rsa'))).ok).toBe(true)
    // an EK certificate from another TPM under the same CA: the EKPub key is cached, the match is not
    let e = await startFailure(cached, evidenceSet('bent-ek-cert-other-tpm'))
    expect([e.code, e.checks.at(-1)!.name]).toEqual(['ERR_EK_MISMATCH', 'tpm_devid.ek.key_match'])
    // a DevID from another TPM certified by this TPM's AK: certify compares Names of cached keys
    e = await startFailure(cached, evidenceSet('bent-devid-from-other-tpm'))
    expect([e.code, e.checks.at(-1)!.name]).toEqual(['ERR_DEVID_CERTIFICATION', 'tpm_devid.certify'])
    // a certify signed by another TPM's AK: the signature is verified again, not remembered
    e = await startFailure(cached, {
      ...evidenceSet('tpm-a-devid-rsa'),
      CertificationSignature: vectorB64('tpm-b/certify-devid-rsa-by-ak-rsa.sig'),
    })
    expect([e.code, e.checks.at(-1)!.name]).toEqual(['ERR_DEVID_CERTIFICATION', 'tpm_devid.certify'])
    // and the genuine agent still passes afterwards: failures poison nothing
    expect((await attest(cached, evidenceSet('tpm-a-devid-rsa'))).ok).toBe(true)
  })

  it("a cached key's Name is computed once and handed out as a copy", async () => {
    const platform = withPlatform(createAttestationCaches())
    const raw = vector('tpm-a/ak-rsa.tpmt')
    const key = parseTpmKeyCached(raw, 'AK public', platform)
    expect(parseTpmKeyCached(raw.slice(), 'AK public', platform)).toBe(key)
    const n1 = await tpmNameOf(key, platform)
    n1.fill(0)
    const n2 = await tpmNameOf(key, platform)
    expect(n2).not.toBe(n1)
    expect(n2[0]).toBe(0x00)
    expect(n2[1]).toBe(0x0b) // SHA-256 nameAlg, intact after the caller bent its copy
    expect(n2.subarray(2).some((b) => b !== 0)).toBe(true)
  })

  it('the platform sees its caches as slots: one store shared by certificates and TPM keys keeps them apart', async () => {
    // platform.ts types the slots as ParsedBytesCache (core/platform-caches.ts); each filler tags its entries
    const shared = createAttestationCaches().certificates
    const platform = withPlatform({ certificates: shared, tpmKeys: shared })
    const plain = await attest(defaultPlatform(), evidenceSet('tpm-a-devid-rsa'))
    const v = await attest(platform, evidenceSet('tpm-a-devid-rsa'))
    expect(v.ok).toBe(true)
    expect(v.attributes).toEqual(plain.attributes)
    expect(shared.size).toBe(6)
    expect((await attest(platform, evidenceSet('tpm-a-devid-rsa'))).spiffeId).toBe(plain.spiffeId)
    expect(shared.size).toBe(6)
  })
})
