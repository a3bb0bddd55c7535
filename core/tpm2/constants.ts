// TPM 2.0 Library Part 2 (Structures) constants used by vouch, spelled as in the spec so the code
// can be checked against it. Section numbers refer to Part 2, revision 1.59.
import type { HashAlg, NamedCurve } from '../crypto/provider.ts'

/** TPM_ALG_ID (§6.3) */
export const TPM_ALG = {
  RSA: 0x0001,
  SHA1: 0x0004,
  HMAC: 0x0005,
  AES: 0x0006,
  KEYEDHASH: 0x0008,
  XOR: 0x000a,
  SHA256: 0x000b,
  SHA384: 0x000c,
  SHA512: 0x000d,
  NULL: 0x0010,
  RSASSA: 0x0014,
  RSAES: 0x0015,
  RSAPSS: 0x0016,
  OAEP: 0x0017,
  ECDSA: 0x0018,
  ECDH: 0x0019,
  ECDAA: 0x001a,
  ECSCHNORR: 0x001c,
  KDF1_SP800_56A: 0x0020,
  KDF2: 0x0021,
  KDF1_SP800_108: 0x0022,
  ECC: 0x0023,
  SYMCIPHER: 0x0025,
  CTR: 0x0040,
  OFB: 0x0041,
  CBC: 0x0042,
  CFB: 0x0043,
  ECB: 0x0044,
} as const

/** TPM_ST (§6.9) */
export const TPM_ST = {
  NO_SESSIONS: 0x8001,
  SESSIONS: 0x8002,
  ATTEST_NV: 0x8014,
  ATTEST_COMMAND_AUDIT: 0x8015,
  ATTEST_SESSION_AUDIT: 0x8016,
  ATTEST_CERTIFY: 0x8017,
  ATTEST_QUOTE: 0x8018,
  ATTEST_TIME: 0x8019,
  ATTEST_CREATION: 0x801a,
  HASHCHECK: 0x8024,
} as const

/** TPM_ECC_CURVE (§6.4) */
export const TPM_ECC = { NIST_P256: 0x0003, NIST_P384: 0x0004, NIST_P521: 0x0005 } as const

/** TPMA_OBJECT bits (§8.3) */
export const TPMA_OBJECT = {
  fixedTPM: 1 << 1,
  stClear: 1 << 2,
  fixedParent: 1 << 4,
  sensitiveDataOrigin: 1 << 5,
  userWithAuth: 1 << 6,
  adminWithPolicy: 1 << 7,
  noDA: 1 << 10,
  encryptedDuplication: 1 << 11,
  restricted: 1 << 16,
  decrypt: 1 << 17,
  sign: 1 << 18,
} as const
export type TpmaObjectBit = keyof typeof TPMA_OBJECT

/** TPM_GENERATED_VALUE (§6.2): TPMS_ATTEST.magic of every TPM-generated attestation */
export const TPM_GENERATED_VALUE = 0xff544347

/** Permanent handles (§7.4) */
export const TPM_RH = {
  OWNER: 0x40000001,
  NULL: 0x40000007,
  PW: 0x40000009,
  LOCKOUT: 0x4000000a,
  ENDORSEMENT: 0x4000000b,
  PLATFORM: 0x4000000c,
} as const

/** EK certificate NV indices (TCG EK Credential Profile 2.0 §2.2.1.5) */
/** NV indices of EK certificates (TCG EK Credential Profile 2.5): low range L-1/L-2, high range RSA-3072 and P-384 */
export const EK_CERT_NV_INDEX = { RSA2048: 0x01c00002, ECC_P256: 0x01c0000a, ECC_P384: 0x01c00016, RSA3072: 0x01c0001c } as const

const HASHES: Readonly<Record<number, { name: HashAlg; size: number; tpmName: string }>> = {
  [TPM_ALG.SHA1]: { name: 'SHA-1', size: 20, tpmName: 'SHA1' },
  [TPM_ALG.SHA256]: { name: 'SHA-256', size: 32, tpmName: 'SHA256' },
  [TPM_ALG.SHA384]: { name: 'SHA-384', size: 48, tpmName: 'SHA384' },
  [TPM_ALG.SHA512]: { name: 'SHA-512', size: 64, tpmName: 'SHA512' },
}

export function isHashAlg(alg: number): boolean {
  return alg in HASHES
}

/** The Web Crypto name of a TPM hash algorithm; undefined when not a supported hash. */
export function tpmHashToWebCrypto(alg: number): HashAlg | undefined {
  return HASHES[alg]?.name
}

/** Digest size in bytes of a TPM hash algorithm; 0 when not a supported hash. */
export function digestSizeOf(alg: number): number {
  return HASHES[alg]?.size ?? 0
}

const CURVES: Readonly<Record<number, { crv: NamedCurve; size: number }>> = {
  [TPM_ECC.NIST_P256]: { crv: 'P-256', size: 32 },
  [TPM_ECC.NIST_P384]: { crv: 'P-384', size: 48 },
  [TPM_ECC.NIST_P521]: { crv: 'P-521', size: 66 },
}

export function curveOf(curveID: number): { crv: NamedCurve; size: number } | undefined {
  return CURVES[curveID]
}

const ALG_NAMES = new Map<number, string>(Object.entries(TPM_ALG).map(([k, v]) => [v, k]))

/** `SHA256`, `RSASSA`, ... or `0x00ab` for an unknown value: for messages. */
export function algName(alg: number): string {
  return ALG_NAMES.get(alg) ?? `0x${alg.toString(16).padStart(4, '0')}`
}
