// Object attribute profiles (Part 2 §8.3 TPMA_OBJECT) for AKs and DevID keys. SPIRE checks none
// of these (its gaps G2, G3): an unrestricted "AK" could sign a forged TPMS_ATTEST, and a DevID
// key that is not fixedTPM could live outside the TPM.
import { DevIdError, Tpm2Error } from '../errors.ts'
import { devIdUnsupportedHash } from '../messages.ts'
import { algName, TPM_ALG, TPM_ECC, TPMA_OBJECT, type TpmaObjectBit } from './constants.ts'
import type { TPMT_PUBLIC } from './public.ts'

export interface AttributeProfile {
  readonly required: readonly TpmaObjectBit[]
  readonly forbidden: readonly TpmaObjectBit[]
}

/** Throws ERR_TPM2_ATTRIBUTES naming every missing and every forbidden bit by its spec name. */
export function checkObjectAttributes(pub: TPMT_PUBLIC, profile: AttributeProfile, what: string): void {
  const missing = profile.required.filter((b) => (pub.objectAttributes & TPMA_OBJECT[b]) === 0)
  const present = profile.forbidden.filter((b) => (pub.objectAttributes & TPMA_OBJECT[b]) !== 0)
  if (missing.length === 0 && present.length === 0) return
  const parts: string[] = []
  if (missing.length) parts.push(`missing ${missing.join(', ')}`)
  if (present.length) parts.push(`must not have ${present.join(', ')}`)
  const hex = `0x${(pub.objectAttributes >>> 0).toString(16).padStart(8, '0')}`
  throw new Tpm2Error('ERR_TPM2_ATTRIBUTES', `${what} attributes ${hex}: ${parts.join('; ')}`, {
    detail: { attributes: hex },
  })
}

export const AK_ATTRIBUTES: AttributeProfile = {
  required: ['restricted', 'sign', 'fixedTPM', 'fixedParent', 'sensitiveDataOrigin'],
  forbidden: ['decrypt'],
}

export const DEVID_ATTRIBUTES: AttributeProfile = {
  required: ['sign', 'fixedTPM', 'fixedParent', 'sensitiveDataOrigin'],
  forbidden: ['restricted', 'decrypt'],
}

function checkKeySize(pub: TPMT_PUBLIC, what: string): void {
  if (pub.type === TPM_ALG.RSA) {
    if (pub.parameters.keyBits < 2048)
      throw new Tpm2Error('ERR_TPM2_ATTRIBUTES', `${what}: RSA-${pub.parameters.keyBits} is below the minimum of 2048 bits`)
  } else if (pub.parameters.curveID !== TPM_ECC.NIST_P256 && pub.parameters.curveID !== TPM_ECC.NIST_P384) {
    throw new Tpm2Error('ERR_TPM2_ATTRIBUTES', `${what}: only NIST P-256 and P-384 are accepted`)
  }
}

/**
 * An attestation key: restricted signing key created in and bound to the TPM, with a signing
 * scheme (a NULL scheme would let the caller pick one per signature, SPIRE's gap G5), RSA >= 2048
 * or P-256/P-384.
 */
export function checkAkPublic(pub: TPMT_PUBLIC, what = 'AK'): void {
  checkObjectAttributes(pub, AK_ATTRIBUTES, what)
  const s = pub.parameters.scheme
  const ok = pub.type === TPM_ALG.RSA ? s.scheme === TPM_ALG.RSASSA || s.scheme === TPM_ALG.RSAPSS : s.scheme === TPM_ALG.ECDSA
  if (!ok) throw new Tpm2Error('ERR_TPM2_ATTRIBUTES', `${what}: signing scheme ${algName(s.scheme)} is not RSASSA, RSAPSS or ECDSA`)
  checkKeySize(pub, what)
}

/**
 * A DevID key: an unrestricted signing key bound to the TPM, scheme hash SHA-256 only (the proof
 * of possession is verified with SHA-256, as SPIRE does).
 */
export function checkDevIdPublic(pub: TPMT_PUBLIC, what = 'DevID public'): void {
  const s = pub.parameters.scheme
  if (s.scheme !== TPM_ALG.NULL && s.hashAlg !== TPM_ALG.SHA256) {
    throw new DevIdError('ERR_DEVID_UNSUPPORTED_HASH', devIdUnsupportedHash(algName(s.hashAlg)), {
      detail: { attribute: 'scheme.hashAlg', found: algName(s.hashAlg) },
    })
  }
  checkObjectAttributes(pub, DEVID_ATTRIBUTES, what)
  const ok = pub.type === TPM_ALG.RSA ? s.scheme === TPM_ALG.RSASSA : s.scheme === TPM_ALG.ECDSA
  if (!ok)
    throw new Tpm2Error(
      'ERR_TPM2_ATTRIBUTES',
      `${what}: signing scheme ${algName(s.scheme)} is not RSASSA (RSA) or ECDSA (ECC) with SHA-256`,
    )
  checkKeySize(pub, what)
}
