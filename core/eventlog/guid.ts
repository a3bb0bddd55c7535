// EFI_GUID (UEFI 2.10 Appendix A): the first three fields little-endian, the last eight bytes as is.
import { toHex } from '../bytes/encoding.ts'

/** `8be4df61-93ca-11d2-aa0d-00e098032b8c` from 16 bytes. */
export function formatGuid(b: Uint8Array): string {
  const h = (i: number, j: number): string => toHex(b.subarray(i, j))
  // a copy: on a Node Buffer, slice() is a view and reverse() would rewrite the caller's log
  const rev = (i: number, j: number): string => toHex(Uint8Array.from(b.subarray(i, j)).reverse())
  return `${rev(0, 4)}-${rev(4, 6)}-${rev(6, 8)}-${h(8, 10)}-${h(10, 16)}`
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
