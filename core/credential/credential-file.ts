/**
 * The tpm2-tools credential file (what `tpm2_makecredential -o` writes and
 * `tpm2_activatecredential -i` reads; toolchain-lab §3, protocol §4.1 step 7):
 *
 *   u32 0xBADCC0DE || u32 1 (version) || TPM2B_ID_OBJECT || TPM2B_ENCRYPTED_SECRET
 *
 * all big-endian. The TPM2B sizes are the structure sizes; the contents are the same bytes that
 * SPIRE sends on the wire with the u16 stripped.
 */
import { ByteReader } from '../bytes/reader.ts'
import { ByteWriter } from '../bytes/writer.ts'
import { Tpm2Error } from '../errors.ts'

export const CREDENTIAL_FILE_MAGIC = 0xbadcc0de
export const CREDENTIAL_FILE_VERSION = 1

/**
 * Part 2 bounds: TPMS_ID_OBJECT is two TPM2B_DIGESTs (2 + 64 each with SHA-512); a
 * TPMU_ENCRYPTED_SECRET is at most an RSA-4096 ciphertext (512) or a P-521 TPMS_ECC_POINT (136).
 */
export const MAX_ID_OBJECT_SIZE = 2 * (2 + 64)
export const MAX_ENCRYPTED_SECRET_SIZE = 512

export interface CredentialFile {
  /** TPM2B_ID_OBJECT contents (without its u16 size): TPM2B integrityHMAC || encIdentity */
  readonly idObject: Uint8Array
  /** TPM2B_ENCRYPTED_SECRET contents (without its u16 size) */
  readonly encSecret: Uint8Array
}

/** The file bytes for `tpm2_activatecredential -i`. */
export function encodeCredentialFile(credential: CredentialFile): Uint8Array<ArrayBuffer> {
  return new ByteWriter()
    .u32(CREDENTIAL_FILE_MAGIC)
    .u32(CREDENTIAL_FILE_VERSION)
    .sized(credential.idObject)
    .sized(credential.encSecret)
    .finish()
}

/** Parses a tpm2-tools credential file; throws Tpm2Error ERR_TPM2_MALFORMED / ERR_TPM2_TRAILING_DATA. */
export function parseCredentialFile(bytes: Uint8Array): CredentialFile {
  const r = new ByteReader(bytes, 'credential file')
  const magic = r.u32('magic')
  if (magic !== CREDENTIAL_FILE_MAGIC) {
    throw new Tpm2Error('ERR_TPM2_MALFORMED', `credential file: magic is 0x${hex32(magic)}, expected 0xbadcc0de`, { detail: { offset: 0 } })
  }
  const version = r.u32('version')
  if (version !== CREDENTIAL_FILE_VERSION) {
    throw new Tpm2Error('ERR_TPM2_MALFORMED', `credential file: version is ${version}, expected 1`, { detail: { offset: 4 } })
  }
  const idObject = r.sized('TPM2B_ID_OBJECT', MAX_ID_OBJECT_SIZE)
  const encSecret = r.sized('TPM2B_ENCRYPTED_SECRET', MAX_ENCRYPTED_SECRET_SIZE)
  if (r.remaining !== 0) {
    throw new Tpm2Error('ERR_TPM2_TRAILING_DATA', `credential file: ${r.remaining} trailing bytes after offset ${r.offset}`, {
      detail: { offset: r.offset },
    })
  }
  return { idObject, encSecret }
}

function hex32(v: number): string {
  return v.toString(16).padStart(8, '0')
}
