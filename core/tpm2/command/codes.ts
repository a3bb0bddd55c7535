// TPM_CC command codes (TPM 2.0 Library Part 2 §6.5.2) and handle types used by vouch's commands.
export const TPM_CC = {
  EvictControl: 0x00000120,
  HierarchyChangeAuth: 0x00000129,
  Create: 0x00000153,
  CreatePrimary: 0x00000131,
  ActivateCredential: 0x00000147,
  Certify: 0x00000148,
  NV_Read: 0x0000014e,
  PolicySecret: 0x00000151,
  PolicyOR: 0x00000171,
  Load: 0x00000157,
  Quote: 0x00000158,
  Sign: 0x0000015d,
  FlushContext: 0x00000165,
  LoadExternal: 0x00000167,
  NV_ReadPublic: 0x00000169,
  ReadPublic: 0x00000173,
  StartAuthSession: 0x00000176,
  GetCapability: 0x0000017a,
  GetRandom: 0x0000017b,
  Hash: 0x0000017d,
  PCR_Read: 0x0000017e,
} as const

/** TPM_SE (Part 2 §6.11) */
export const TPM_SE = { HMAC: 0x00, POLICY: 0x01, TRIAL: 0x03 } as const

/** TPM_CAP (Part 2 §6.12) */
export const TPM_CAP = { ALGS: 0x0, HANDLES: 0x1, COMMANDS: 0x2, PCRS: 0x5, TPM_PROPERTIES: 0x6 } as const

/** TPM_PT (Part 2 §6.13) values used here */
export const TPM_PT = {
  FAMILY_INDICATOR: 0x100,
  MANUFACTURER: 0x105,
  HR_TRANSIENT_MIN: 0x10e,
  NV_BUFFER_MAX: 0x12c,
  MAX_DIGEST: 0x120,
} as const

/** TPM_HT (Part 2 §7.2): the handle type is the top byte */
export const TPM_HT = {
  NV_INDEX: 0x01,
  HMAC_SESSION: 0x02,
  POLICY_SESSION: 0x03,
  PERMANENT: 0x40,
  TRANSIENT: 0x80,
  PERSISTENT: 0x81,
} as const
