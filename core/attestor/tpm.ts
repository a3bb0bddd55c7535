/**
 * The TPM 2.0 facts the attestors need, behind one seam over core/tpm2: a TPMT_PUBLIC parsed into
 * a key with its Name, the DevID and AK attribute profiles, the AK-signed TPM2_Certify over the
 * DevID key, and an EK described for MakeCredential. (TPM 2.0 Part 2 §12.2.4 TPMT_PUBLIC,
 * §10.12.8 TPMS_ATTEST, §11.3.4 TPMT_SIGNATURE, §8.3 TPMA_OBJECT; Part 1 §16 Names, §24.)
 */
import type { CredentialEk } from '../credential/ek.ts'
import type { PublicKey } from '../crypto/provider.ts'
import { Tpm2Error } from '../errors.ts'
import type { Platform } from '../platform.ts'
import { parseTpmsAttest } from '../tpm2/attest.ts'
import { checkAkPublic, checkDevIdPublic } from '../tpm2/attributes.ts'
import { verifyCertify } from '../tpm2/certify.ts'
import { algName, TPM_ALG, tpmHashToWebCrypto } from '../tpm2/constants.ts'
import { computeName } from '../tpm2/name.ts'
import { describeTpmKey, publicKeyFromTpmtPublic, publicKeysEqual } from '../tpm2/public-key.ts'
import { parseTpmtPublic, type TPMT_PUBLIC } from '../tpm2/public.ts'
import { parseTpmtSignature } from '../tpm2/signature.ts'

export interface TpmKey {
  readonly pub: TPMT_PUBLIC
  readonly publicKey: PublicKey
  /** the signing scheme's hash as the TPM names it (e.g. SHA256, SHA384); undefined for a NULL scheme */
  readonly schemeHash?: string
  /** AES key bits when the symmetric definition is AES-CFB (EKs, storage keys) */
  readonly aesCfbKeyBits?: number
  /** e.g. "RSA-2048 RSASSA-SHA256, nameAlg SHA256, attributes 0x00050072" */
  readonly summary: string
}

/** Parses a TPMT_PUBLIC (no size prefix), strictly; throws Tpm2Error. */
export function parseTpmKey(raw: Uint8Array, what: string): TpmKey {
  const pub = parseTpmtPublic(raw, what)
  const publicKey = publicKeyFromTpmtPublic(pub, what)
  const { scheme, hashAlg } = pub.parameters.scheme
  const sym = pub.parameters.symmetric
  const schemeText = scheme === TPM_ALG.NULL ? 'scheme NULL' : `${algName(scheme)}-${algName(hashAlg)}`
  return {
    pub,
    publicKey,
    ...(scheme !== TPM_ALG.NULL ? { schemeHash: algName(hashAlg) } : {}),
    ...(sym.algorithm === TPM_ALG.AES && sym.mode === TPM_ALG.CFB ? { aesCfbKeyBits: sym.keyBits } : {}),
    summary: `${describeTpmKey(pub)} ${schemeText}, nameAlg ${algName(pub.nameAlg)}, attributes 0x${(pub.objectAttributes >>> 0).toString(16).padStart(8, '0')}`,
  }
}

/** Name = nameAlg || H_nameAlg(TPMT_PUBLIC), over the bytes as received. */
export function tpmNameOf(key: TpmKey, platform: Platform): Promise<Uint8Array> {
  return computeName(key.pub, platform)
}

export const publicKeysMatch = publicKeysEqual

/** DevID: sign, fixedTPM, fixedParent, sensitiveDataOrigin; not restricted/decrypt; RSASSA/ECDSA SHA-256 (G3). */
export function checkDevIdKey(key: TpmKey): void {
  checkDevIdPublic(key.pub, 'DevID public')
}

/** AK: restricted, sign, fixedTPM, fixedParent, sensitiveDataOrigin; not decrypt; scheme not NULL (G2, G5). */
export function checkAkKey(key: TpmKey): void {
  checkAkPublic(key.pub, 'AK public')
}

/** What MakeCredential needs about the EK: key, nameAlg, AES-CFB key bits (Part 1 §24). */
export function credentialEkOf(ek: TpmKey): CredentialEk {
  const bits = ek.aesCfbKeyBits
  const nameAlg = tpmHashToWebCrypto(ek.pub.nameAlg)
  if ((bits !== 128 && bits !== 192 && bits !== 256) || nameAlg === undefined) {
    throw new Tpm2Error('ERR_TPM2_UNSUPPORTED_ALGORITHM', 'EK public: symmetric is not AES-128/192/256 in CFB mode')
  }
  return { publicKey: ek.publicKey, nameAlg, symmetricKeyBits: bits, ...(ek.pub.type === TPM_ALG.ECC ? { eccX: ek.pub.unique.x } : {}) }
}

export interface CertificationResult {
  readonly extraData: Uint8Array
  readonly scheme: string
}

/**
 * TPM2_Certify by the AK over the DevID (protocol §3.1 item 9, core/tpm2/certify.ts): signature
 * alg and hash are the AK's scheme; it verifies over the raw TPMS_ATTEST; magic; type CERTIFY;
 * the certified full Name is Name(DevIDPub). extraData is returned, not required empty.
 */
export async function verifyDevIdCertification(
  ak: TpmKey,
  devId: TpmKey,
  attest: Uint8Array,
  signature: Uint8Array,
  platform: Platform,
): Promise<CertificationResult> {
  const parsed = parseTpmsAttest(attest)
  const sig = parseTpmtSignature(signature)
  const r = await verifyCertify({ signer: ak.pub, attest: parsed, signature: sig, certified: devId.pub }, platform)
  return { extraData: r.extraData, scheme: `${algName(sig.sigAlg)}-${algName(sig.hash)}` }
}
