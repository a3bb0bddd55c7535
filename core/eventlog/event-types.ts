// Event types of the TCG PC Client Platform Firmware Profile (v1.05, §10.4.1) and the EFI events
// of the TCG EFI Platform Specification, with the names tools print.

export const EV = {
  PREBOOT_CERT: 0x0,
  POST_CODE: 0x1,
  UNUSED: 0x2,
  NO_ACTION: 0x3,
  SEPARATOR: 0x4,
  ACTION: 0x5,
  EVENT_TAG: 0x6,
  S_CRTM_CONTENTS: 0x7,
  S_CRTM_VERSION: 0x8,
  CPU_MICROCODE: 0x9,
  PLATFORM_CONFIG_FLAGS: 0xa,
  TABLE_OF_DEVICES: 0xb,
  COMPACT_HASH: 0xc,
  IPL: 0xd,
  IPL_PARTITION_DATA: 0xe,
  NONHOST_CODE: 0xf,
  NONHOST_CONFIG: 0x10,
  NONHOST_INFO: 0x11,
  OMIT_BOOT_DEVICE_EVENTS: 0x12,
  POST_CODE2: 0x13,
  EFI_EVENT_BASE: 0x80000000,
  EFI_VARIABLE_DRIVER_CONFIG: 0x80000001,
  EFI_VARIABLE_BOOT: 0x80000002,
  EFI_BOOT_SERVICES_APPLICATION: 0x80000003,
  EFI_BOOT_SERVICES_DRIVER: 0x80000004,
  EFI_RUNTIME_SERVICES_DRIVER: 0x80000005,
  EFI_GPT_EVENT: 0x80000006,
  EFI_ACTION: 0x80000007,
  EFI_PLATFORM_FIRMWARE_BLOB: 0x80000008,
  EFI_HANDOFF_TABLES: 0x80000009,
  EFI_PLATFORM_FIRMWARE_BLOB2: 0x8000000a,
  EFI_HANDOFF_TABLES2: 0x8000000b,
  EFI_VARIABLE_BOOT2: 0x8000000c,
  EFI_GPT_EVENT2: 0x8000000d,
  EFI_HCRTM_EVENT: 0x80000010,
  EFI_VARIABLE_AUTHORITY: 0x800000e0,
  EFI_SPDM_FIRMWARE_BLOB: 0x800000e1,
  EFI_SPDM_FIRMWARE_CONFIG: 0x800000e2,
} as const

const NAMES = new Map<number, string>(Object.entries(EV).map(([k, v]) => [v, `EV_${k}`]))

/** `EV_SEPARATOR`, ... or `0x0000abcd` for a type the profile does not name. */
export function eventTypeName(type: number): string {
  return NAMES.get(type) ?? `0x${type.toString(16).padStart(8, '0')}`
}

/** TPM_ALG_ID values seen in event logs; SM3_256 logs parse, but vouch cannot replay that bank. */
export const LOG_ALG = { SHA1: 0x0004, SHA256: 0x000b, SHA384: 0x000c, SHA512: 0x000d, SM3_256: 0x0012 } as const

const ALG_NAMES: Readonly<Record<number, string>> = {
  [LOG_ALG.SHA1]: 'sha1',
  [LOG_ALG.SHA256]: 'sha256',
  [LOG_ALG.SHA384]: 'sha384',
  [LOG_ALG.SHA512]: 'sha512',
  [LOG_ALG.SM3_256]: 'sm3_256',
}

/** The bank name used in output and JSON (`sha256`), or `0x00ab` for an unknown algorithm. */
export function bankName(alg: number): string {
  return ALG_NAMES[alg] ?? `0x${alg.toString(16).padStart(4, '0')}`
}

/** The bank id for a name (`sha256`, `SHA256`, `0x000b`), or undefined. */
export function bankId(name: string): number | undefined {
  const lower = name.toLowerCase()
  for (const [id, n] of Object.entries(ALG_NAMES)) if (n === lower) return Number(id)
  if (/^0x[0-9a-f]{1,4}$/.test(lower)) return Number.parseInt(lower, 16)
  return undefined
}
