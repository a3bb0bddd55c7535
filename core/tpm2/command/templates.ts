// Key templates (tpm-devid-protocol spec §7.1): TCG default EK (EK Credential Profile 2.0 L-1/L-2),
// the high-range EKs of the EK Credential Profile 2.5 (RSA-3072 and NIST P-384, nameAlg SHA-384),
// SPIRE's SRK-High (unique EMPTY: DevIDs provisioned for SPIRE load unchanged), the AK and the DevID.
import { fromHex } from '../../bytes/encoding.ts'
import { TPM_ALG, TPM_ECC } from '../constants.ts'
import { encodeTpmtPublic } from '../public.ts'

/** EK authPolicy = PolicySecret(TPM_RH_ENDORSEMENT) (spec §7 step 12b) */
export const EK_AUTH_POLICY = fromHex('837197674484b3f81a90cc8d46a5d724fd52d76e06520b64f2a1da1b331469aa')

/**
 * The high-range EK authPolicy in SHA-384 ("PolicyB"): PolicyOR of PolicyA (PolicySecret on the
 * endorsement hierarchy) and PolicyC (PolicyAuthorizeNV); tpm2_createek -G ecc384 / rsa3072 and
 * swtpm_setup use it. test/core/tpm2/command/templates.test.ts recomputes it from the two branches.
 */
export const EK_AUTH_POLICY_B_SHA384 = fromHex(
  'b26e7d28d11a50bc53d882bcf5fd3a1a074148bb35d3b4e4cb1c0ad9bde419cacb47ba09699646150f9fc000f3f80e12',
)
/** PolicyA in SHA-384: PolicySecret(TPM_RH_ENDORSEMENT), empty policyRef (recomputed in the test) */
export const EK_POLICY_A_SHA384 = fromHex(
  '8bbf2266537c171cb56e403c4dc1d4b64f432611dc386e6f532050c3278c930e143e8bb1133824ccb431053871c6db53',
)
/** PolicyC in SHA-384: PolicyAuthorizeNV, the other branch of PolicyB (pinned by PolicyB's value) */
export const EK_POLICY_C_SHA384 = fromHex(
  'd6032ce61f2fb3c240eb3cf6a33237ef2b6a16f4293c22b455e261cffd217ad5b4947c2d73e63005eed2dc2b3593d165',
)

const AES128_CFB = { algorithm: TPM_ALG.AES, keyBits: 128, mode: TPM_ALG.CFB }
const AES256_CFB = { algorithm: TPM_ALG.AES, keyBits: 256, mode: TPM_ALG.CFB }
const SYM_NULL = { algorithm: TPM_ALG.NULL, keyBits: 0, mode: 0 }
const NULL_SCHEME = { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL }
const EMPTY = new Uint8Array(0)

export const EK_ATTRIBUTES = 0x000300b2
/** high-range EKs: EK_ATTRIBUTES plus userWithAuth */
export const EK_HIGH_RANGE_ATTRIBUTES = 0x000300f2
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

/** High-range RSA-3072 EK (certificate at NV 0x01c0001c): SHA-384, AES-256-CFB, PolicyB, unique empty. */
export function ekTemplateRsa3072(): Uint8Array<ArrayBuffer> {
  return encodeTpmtPublic({
    type: TPM_ALG.RSA,
    nameAlg: TPM_ALG.SHA384,
    objectAttributes: EK_HIGH_RANGE_ATTRIBUTES,
    authPolicy: EK_AUTH_POLICY_B_SHA384,
    parameters: { symmetric: AES256_CFB, scheme: NULL_SCHEME, keyBits: 3072, exponent: 0 },
    unique: EMPTY,
  })
}

/** High-range NIST P-384 EK (certificate at NV 0x01c00016): SHA-384, AES-256-CFB, PolicyB, x and y empty. */
export function ekTemplateEccP384(): Uint8Array<ArrayBuffer> {
  return encodeTpmtPublic({
    type: TPM_ALG.ECC,
    nameAlg: TPM_ALG.SHA384,
    objectAttributes: EK_HIGH_RANGE_ATTRIBUTES,
    authPolicy: EK_AUTH_POLICY_B_SHA384,
    parameters: { symmetric: AES256_CFB, scheme: NULL_SCHEME, curveID: TPM_ECC.NIST_P384, kdf: NULL_SCHEME },
    unique: { x: EMPTY, y: EMPTY },
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
