/**
 * What MakeCredential needs to know about an EK, in runtime-neutral form (protocol §4): its public
 * key, its nameAlg (the hash of OAEP, KDFa, KDFe and the outer HMAC, TPM 2.0 Part 1 §24) and the
 * key size of its symmetric definition (AES-CFB; the size of the STORAGE key).
 */
import type { HashAlg, PublicKey } from '../crypto/provider.ts'
import { CredentialError } from '../errors.ts'
import { algName, TPM_ALG, tpmHashToWebCrypto } from '../tpm2/constants.ts'
import { publicKeyFromTpmtPublic } from '../tpm2/public-key.ts'
import type { TPMT_PUBLIC } from '../tpm2/public.ts'

export interface CredentialEk {
  readonly publicKey: PublicKey
  readonly nameAlg: HashAlg
  /** EK parameters.symmetric.keyBits; the algorithm must be AES in CFB mode */
  readonly symmetricKeyBits: 128 | 192 | 256
  /**
   * ECC only: TPMT_PUBLIC unique.x exactly as the TPM holds it, which the TPM hashes as KDFe's
   * PartyVInfo. Defaults to publicKey.x (field-size; what every TPM-generated EK has).
   */
  readonly eccX?: Uint8Array
}

/**
 * The TCG EK Credential Profile default templates (L-1 RSA-2048, L-2 ECC NIST P-256): nameAlg
 * SHA-256 and AES-128-CFB. Use for an EK known only as a public key (PEM, EK certificate), where
 * TPMT_PUBLIC is not available; a high-range template (H-*) or a vendor template may differ, and
 * then activation fails with TPM_RC_INTEGRITY rather than revealing the secret.
 */
export function credentialEkFromPublicKey(publicKey: PublicKey): CredentialEk {
  return { publicKey, nameAlg: 'SHA-256', symmetricKeyBits: 128 }
}

/**
 * The EK as the TPM holds it (TPMT_PUBLIC from TPM2_ReadPublic or tpm2_createek): nameAlg and the
 * symmetric definition come from the object itself, so any template (L-*, H-*, vendor) works.
 */
export function credentialEkFromTpmtPublic(ek: TPMT_PUBLIC, what = 'EK public'): CredentialEk {
  const sym = ek.parameters.symmetric
  if (sym.algorithm !== TPM_ALG.AES || sym.mode !== TPM_ALG.CFB) {
    throw new CredentialError(
      'ERR_CREDENTIAL_UNSUPPORTED_KEY',
      `${what}: symmetric is ${algName(sym.algorithm)}-${algName(sym.mode)}, MakeCredential needs AES in CFB mode`,
    )
  }
  const nameAlg = tpmHashToWebCrypto(ek.nameAlg)!
  const publicKey = publicKeyFromTpmtPublic(ek, what)
  return {
    publicKey,
    nameAlg,
    symmetricKeyBits: sym.keyBits as 128 | 192 | 256,
    ...(ek.type === TPM_ALG.ECC ? { eccX: ek.unique.x } : {}),
  }
}
