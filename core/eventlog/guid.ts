// EFI_GUID (UEFI 2.10 Appendix A): the first three fields little-endian, the last eight bytes as is.

const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/**
 * `8be4df61-93ca-11d2-aa0d-00e098032b8c` from the 16 bytes at `at` (a dbx holds hundreds of
 * owners: one string built from a table, no views or copies).
 */
export function formatGuid(b: Uint8Array, at = 0): string {
  if (at < 0 || b.length - at < 16) throw new RangeError(`formatGuid: 16 bytes needed at offset ${at}, ${b.length - at} left`)
  return (
    HEX[b[at + 3]!]! +
    HEX[b[at + 2]!]! +
    HEX[b[at + 1]!]! +
    HEX[b[at]!]! +
    '-' +
    HEX[b[at + 5]!]! +
    HEX[b[at + 4]!]! +
    '-' +
    HEX[b[at + 7]!]! +
    HEX[b[at + 6]!]! +
    '-' +
    HEX[b[at + 8]!]! +
    HEX[b[at + 9]!]! +
    '-' +
    HEX[b[at + 10]!]! +
    HEX[b[at + 11]!]! +
    HEX[b[at + 12]!]! +
    HEX[b[at + 13]!]! +
    HEX[b[at + 14]!]! +
    HEX[b[at + 15]!]!
  )
}

/** Whether the 16 bytes at `a` and at `b` of `bytes` are the same GUID. */
export function sameGuid(bytes: Uint8Array, a: number, b: number): boolean {
  for (let i = 0; i < 16; i++) if (bytes[a + i] !== bytes[b + i]) return false
  return true
}

export const GUID = {
  /** EFI_GLOBAL_VARIABLE: SecureBoot, PK, KEK, Boot####, BootOrder */
  GLOBAL_VARIABLE: '8be4df61-93ca-11d2-aa0d-00e098032b8c',
  /** EFI_IMAGE_SECURITY_DATABASE_GUID: db, dbx, dbt, dbr */
  IMAGE_SECURITY_DATABASE: 'd719b2cb-3d3a-4596-a3bc-dad00e67656f',
  /** shim's variables: MokList, MokListX, MokListTrusted, SbatLevel */
  SHIM_LOCK: '605dab50-e046-4300-abb6-3dd810dd8b23',
  CERT_X509: 'a5c059a1-94e4-4aa7-87b5-ab155c2bf072',
  CERT_SHA256: 'c1c41626-504c-4092-aca9-41f936934328',
  CERT_SHA1: '826ca512-cf10-4ac9-b187-be01496631bd',
  CERT_SHA384: 'ff3e5307-9fd0-48c9-85f1-8ad56c701e01',
  CERT_SHA512: '093e0fae-a6c4-4f50-9f1b-d41e2b89c19a',
  CERT_X509_SHA256: '3bd2a492-96c0-4079-b420-fcf98ef103ed',
} as const
