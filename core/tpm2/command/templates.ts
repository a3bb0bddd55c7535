// Key templates (tpm-devid-protocol spec §7.1): TCG default EK (EK Credential Profile 2.0 L-1/L-2),
// SPIRE's SRK-High (unique EMPTY: DevIDs provisioned for SPIRE load unchanged), the AK and the DevID.
import { fromHex } from '../../bytes/encoding.ts'
import { TPM_ALG, TPM_ECC } from '../constants.ts'
import { encodeTpmtPublic } from '../public.ts'

/** EK authPolicy = PolicySecret(TPM_RH_ENDORSEMENT) (spec §7 step 12b) */
export const EK_AUTH_POLICY = fromHex('837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa')

const AES128_CFB = { algorithm: TPM_ALG.AES, keyBits: 128, mode: TPM_ALG.CFB }
const SYM_NULL = { algorithm: TPM_ALG.NULL, keyBits: 0, mode: 0 }
const NULL_SCHEME = { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL }
const EMPTY = new Uint8Array(0)

export const EK_ATTRIBUTES = 0x000300b2
export const SRK_ATTRIBUTES = 0x00030472
export const AK_ATTRIBUTES_TEMPLATE = 0x00050072
export const DEVID_ATTRIBUTES_TEMPLATE = 0x00040072

export function ekTemplateRsa(): Uint8Array<ArrayBuffer> {
  return encodeTpmtPublic({
    type: TPM_ALG.RSA,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: EK_ATTRIBUTES,
    authPolicy: EK_AUTH_POLICY,
    parameters: { symmetric: AES128_CFB, scheme: NULL_SCHEME, keyBits: 2048, exponent: 0 },
    unique: new Uint8Array(256),
  })
}

export function ekTemplateEcc(): Uint8Array<ArrayBuffer> {
  return encodeTpmtPublic({
    type: TPM_ALG.ECC,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: EK_ATTRIBUTES,
    authPolicy: EK_AUTH_POLICY,
    parameters: { symmetric: AES128_CFB, scheme: NULL_SCHEME, curveID: TPM_ECC.NIST_P256, kdf: NULL_SCHEME },
    unique: { x: new Uint8Array(32), y: new Uint8Array(32) },
  })
}

/** SPIRE SRK-High-RSA: unique EMPTY (not 256 zero bytes). */
export function srkTemplateRsa(): Uint8Array<ArrayBuffer> {
  return encodeTpmtPublic({
    type: TPM_ALG.RSA,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: SRK_ATTRIBUTES,
    authPolicy: EMPTY,
    parameters: { symmetric: AES128_CFB, scheme: NULL_SCHEME, keyBits: 2048, exponent: 0 },
    unique: EMPTY,
  })
}

/** SPIRE SRK-High-ECC: x, y EMPTY. */
export function srkTemplateEcc(): Uint8Array<ArrayBuffer> {
  return encodeTpmtPublic({
    type: TPM_ALG.ECC,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: SRK_ATTRIBUTES,
    authPolicy: EMPTY,
    parameters: { symmetric: AES128_CFB, scheme: NULL_SCHEME, curveID: TPM_ECC.NIST_P256, kdf: NULL_SCHEME },
    unique: { x: EMPTY, y: EMPTY },
  })
}

/** AK RSA (go-tpm-tools AKTemplateRSA): restricted signing, RSASSA-SHA256. */
export function akTemplateRsa(): Uint8Array<ArrayBuffer> {
  return encodeTpmtPublic({
    type: TPM_ALG.RSA,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: AK_ATTRIBUTES_TEMPLATE,
    authPolicy: EMPTY,
    parameters: { symmetric: SYM_NULL, scheme: { scheme: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA256 }, keyBits: 2048, exponent: 0 },
    unique: EMPTY,
  })
}

/** DevID key (SPIRE test helper): unrestricted signing, RSASSA-SHA256 2048 or ECDSA-SHA256 P-256. */
export function devIdTemplate(kind: 'rsa' | 'ecc'): Uint8Array<ArrayBuffer> {
  if (kind === 'rsa') {
    return encodeTpmtPublic({
      type: TPM_ALG.RSA,
      nameAlg: TPM_ALG.SHA256,
      objectAttributes: DEVID_ATTRIBUTES_TEMPLATE,
      authPolicy: EMPTY,
      parameters: { symmetric: SYM_NULL, scheme: { scheme: TPM_ALG.RSASSA, hashAlg: TPM_ALG.SHA256 }, keyBits: 2048, exponent: 0 },
      unique: EMPTY,
    })
  }
  return encodeTpmtPublic({
    type: TPM_ALG.ECC,
    nameAlg: TPM_ALG.SHA256,
    objectAttributes: DEVID_ATTRIBUTES_TEMPLATE,
    authPolicy: EMPTY,
    parameters: {
      symmetric: SYM_NULL,
      scheme: { scheme: TPM_ALG.ECDSA, hashAlg: TPM_ALG.SHA256 },
      curveID: TPM_ECC.NIST_P256,
      kdf: NULL_SCHEME,
    },
    unique: { x: new Uint8Array(32), y: new Uint8Array(32) },
  })
}
