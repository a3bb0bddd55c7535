// The EK templates' authPolicy values are recomputed from their definitions (TPM 2.0 Part 3 §23.4
// PolicySecret, §23.6 PolicyOR), so a mistyped constant fails here rather than as TPM_RC_POLICY_FAIL.
import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { toHex } from '../../../../core/bytes/encoding.ts'
import { TPM_ALG, TPM_ECC } from '../../../../core/tpm2/constants.ts'
import * as cmd from '../../../../core/tpm2/command/index.ts'
import { parseTpmtPublic } from '../../../../core/tpm2/public.ts'

const u32 = (n: number) => Buffer.from([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff])
const TPM_CC_POLICY_SECRET = 0x151
const TPM_CC_POLICY_OR = 0x171
const TPM_RH_ENDORSEMENT_NAME = u32(0x4000000b) // the Name of a permanent handle is the handle

/** PolicySecret(authObject) with an empty policyRef, from a zero digest: PolicyUpdate twice. */
function policySecret(hash: 'sha256' | 'sha384'): Buffer {
  const size = hash === 'sha256' ? 32 : 48
  const first = createHash(hash)
    .update(Buffer.concat([Buffer.alloc(size), u32(TPM_CC_POLICY_SECRET), TPM_RH_ENDORSEMENT_NAME]))
    .digest()
  return createHash(hash).update(first).digest() // || policyRef (empty)
}

describe('EK authPolicy constants', () => {
  it('the low-range policy is PolicySecret(TPM_RH_ENDORSEMENT) in SHA-256', () => {
    expect(toHex(cmd.EK_AUTH_POLICY)).toBe(policySecret('sha256').toString('hex'))
  })

  it('PolicyA in SHA-384 is PolicySecret(TPM_RH_ENDORSEMENT)', () => {
    expect(toHex(cmd.EK_POLICY_A_SHA384)).toBe(policySecret('sha384').toString('hex'))
  })

  it('PolicyB (the high-range authPolicy) is PolicyOR(PolicyA, PolicyC) in SHA-384', () => {
    const or = createHash('sha384')
      .update(Buffer.concat([Buffer.alloc(48), u32(TPM_CC_POLICY_OR), cmd.EK_POLICY_A_SHA384, cmd.EK_POLICY_C_SHA384]))
      .digest()
    expect(toHex(cmd.EK_AUTH_POLICY_B_SHA384)).toBe(or.toString('hex'))
  })
})

describe('high-range EK templates', () => {
  it('RSA-3072: SHA-384, userWithAuth added, AES-256-CFB, PolicyB, unique empty', () => {
    const t = parseTpmtPublic(cmd.ekTemplateRsa3072())
    expect(t.type).toBe(TPM_ALG.RSA)
    expect(t.nameAlg).toBe(TPM_ALG.SHA384)
    expect(t.objectAttributes).toBe(cmd.EK_ATTRIBUTES | 0x40)
    expect(t.authPolicy).toEqual(cmd.EK_AUTH_POLICY_B_SHA384)
    if (t.type !== TPM_ALG.RSA) throw new Error('not RSA')
    expect(t.parameters.keyBits).toBe(3072)
    expect(t.parameters.symmetric).toMatchObject({ algorithm: TPM_ALG.AES, keyBits: 256, mode: TPM_ALG.CFB })
    expect(t.unique.length).toBe(0)
  })

  it('P-384: SHA-384, AES-256-CFB, PolicyB, x and y empty', () => {
    const t = parseTpmtPublic(cmd.ekTemplateEccP384())
    if (t.type !== TPM_ALG.ECC) throw new Error('not ECC')
    expect(t.nameAlg).toBe(TPM_ALG.SHA384)
    expect(t.objectAttributes).toBe(cmd.EK_HIGH_RANGE_ATTRIBUTES)
    expect(t.parameters.curveID).toBe(TPM_ECC.NIST_P384)
    expect(t.parameters.symmetric).toMatchObject({ algorithm: TPM_ALG.AES, keyBits: 256, mode: TPM_ALG.CFB })
    expect(t.unique.x.length + t.unique.y.length).toBe(0)
  })

  it('PolicyOR refuses fewer than 2 or more than 8 digests (caller misuse)', () => {
    expect(() => cmd.policyOr(0x03000000, [cmd.EK_POLICY_A_SHA384])).toThrow(RangeError)
    expect(() => cmd.policyOr(0x03000000, Array(9).fill(cmd.EK_POLICY_A_SHA384))).toThrow(RangeError)
  })
})
