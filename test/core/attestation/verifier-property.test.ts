/**
 * Property: random mutations of every evidence field never crash the verifier (only VerifyError)
 * and never pass. Fields bound by a signature or a Name (DevIDCert, DevIDPub, CertifiedDevID,
 * CertificationSignature, EKCert under CA-only trust) must fail at start (bytes appended after the EK
 * certificate DER are NV padding and ignored by design). A mutated EKPub may pass
 * start only if it still describes the same EK for MakeCredential (key, nameAlg, AES-CFB bits:
 * then the challenge is the one the genuine EK gets). A mutated AKPub that passes start binds the
 * credential to a Name no TPM object has: the live TPM refuses to activate it with the real AK.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parseTpmKey, publicKeysMatch } from '../../../core/attestor/tpm.ts'
import { createAttestationVerifier } from '../../../core/attestation/verifier.ts'
import { VerifyError } from '../../../core/errors.ts'
import { DEVID_ROOT, EK_INT, EK_ROOT, devidPolicy, policies } from './fixtures.ts'
import { evidenceSet, LiveAgent } from './live-agent.ts'
import { differs, mutate, mutation } from './mutation.ts'

let a: LiveAgent
beforeAll(async () => {
  a = await LiveAgent.start('tpm-a')
})
afterAll(async () => {
  await a?.stop()
})

const good = evidenceSet('tpm-a-devid-rsa') as Record<string, unknown>
const CA_ONLY = policies(devidPolicy({ devIDCACerts: DEVID_ROOT, endorsementCACerts: EK_ROOT + EK_INT }))
const b64 = (s: unknown) => new Uint8Array(Buffer.from(s as string, 'base64'))
const enc = (b: Uint8Array) => Buffer.from(b).toString('base64')

type Field = 'DevIDCert0' | 'DevIDCert1' | 'DevIDPub' | 'EKCert' | 'EKPub' | 'AKPub' | 'CertifiedDevID' | 'CertificationSignature'
const FIELDS: Field[] = ['DevIDCert0', 'DevIDCert1', 'DevIDPub', 'EKCert', 'EKPub', 'AKPub', 'CertifiedDevID', 'CertificationSignature']

function original(field: Field): Uint8Array {
  if (field === 'DevIDCert0') return b64((good.DevIDCert as string[])[0])
  if (field === 'DevIDCert1') return b64((good.DevIDCert as string[])[1])
  return b64(good[field])
}

function withField(field: Field, bytes: Uint8Array): Record<string, unknown> {
  if (field === 'DevIDCert0' || field === 'DevIDCert1') {
    const list = [...(good.DevIDCert as string[])]
    list[field === 'DevIDCert0' ? 0 : 1] = enc(bytes)
    return { ...good, DevIDCert: list }
  }
  return { ...good, [field]: enc(bytes) }
}

describe('verifier under random evidence mutations', () => {
  it('never crashes and never passes (800 runs, 100 per field)', async () => {
    const v = createAttestationVerifier({ policies: CA_ONLY })
    const survivors: { field: Field; ev: Record<string, unknown>; challenge: Record<string, unknown>; sessionId: string }[] = []
    for (const field of FIELDS) {
      await fc.assert(
        fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (muts) => {
          let bytes: Uint8Array = original(field)
          for (const m of muts) if (bytes.length > 0) bytes = mutate(bytes, m)
          if (!differs(bytes, original(field))) return
          const ev = withField(field, bytes)
          let started
          try {
            started = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
          } catch (e) {
            if (!(e instanceof VerifyError)) throw e
            return
          }
          // a signature- or Name-bound field must never get a challenge; the one tolerance: bytes after
          // the EK certificate DER (NV padding, EK_TOLERANCES 'trailing-data') are ignored
          const o = original(field)
          const paddedEkCert = field === 'EKCert' && bytes.length > o.length && !differs(bytes.subarray(0, o.length), o)
          expect(paddedEkCert || field === 'EKPub' || field === 'AKPub').toBe(true)
          if (paddedEkCert) return
          if (field === 'EKPub') {
            const m = parseTpmKey(bytes, 'mutated EK')
            const o = parseTpmKey(original('EKPub'), 'EK')
            expect(
              publicKeysMatch(m.publicKey, o.publicKey) && m.pub.nameAlg === o.pub.nameAlg && m.aesCfbKeyBits === o.aesCfbKeyBits,
            ).toBe(true)
          }
          survivors.push({ field, ev, challenge: started.challenges.tpm_devid as Record<string, unknown>, sessionId: started.sessionId })
        }),
        { numRuns: 100 },
      )
    }
    // AKPub survivors: the genuine AK cannot activate a credential bound to the mutated Name
    const akSurvivors = survivors.filter((s) => s.field === 'AKPub').slice(0, 2)
    for (const s of akSurvivors) {
      const cred = s.challenge.CredActivation as { Credential: string; Secret: string }
      await expect(a.activate(cred, good.AKPub as string, good.EKPub as string)).rejects.toThrow(/tpm2_activatecredential/)
      const nonce = b64(s.challenge.DevID)
      const sig = enc(await a.sign(good.DevIDPub as string, nonce))
      const e = await v.answer(s.sessionId, { tpm_devid: { DevID: sig, CredActivation: enc(new Uint8Array(32)) } }).catch((x: unknown) => x)
      expect((e as VerifyError).code).toBe('ERR_CREDENTIAL_MISMATCH')
    }
  })

  it('an AKPub with userWithAuth flipped passes the static checks, but the genuine AK cannot activate its credential', async () => {
    const v = createAttestationVerifier({ policies: CA_ONLY })
    const akPub = original('AKPub')
    const bent = akPub.slice()
    bent[7]! ^= 0x40
    const s = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: withField('AKPub', bent) } })
    const ch = s.challenges.tpm_devid as { DevID: string; CredActivation: { Credential: string; Secret: string } }
    await expect(a.activate(ch.CredActivation, good.AKPub as string, good.EKPub as string)).rejects.toThrow(/tpm2_activatecredential/)
    const sig = enc(await a.sign(good.DevIDPub as string, b64(ch.DevID)))
    const e = await v.answer(s.sessionId, { tpm_devid: { DevID: sig, CredActivation: enc(new Uint8Array(32)) } }).catch((x: unknown) => x)
    expect((e as VerifyError).code).toBe('ERR_CREDENTIAL_MISMATCH')
  })
})
