// TPMS_ATTEST (Part 2 §10.12.12) with the certify (§10.12.3), quote (§10.12.4) and creation
// (§10.12.6) bodies. `raw` is the signed message: signatures are checked over it, never over a
// re-encoding. Parsing reports magic and type; the verify* functions check them.
import { ByteReader } from '../bytes/reader.ts'
import { Tpm2Error } from '../errors.ts'
import { digestSizeOf, isHashAlg, TPM_ST } from './constants.ts'
import { readPcrSelection, type TPML_PCR_SELECTION } from './pcr-selection.ts'

export interface TPMS_CLOCK_INFO {
  readonly clock: bigint
  readonly resetCount: number
  readonly restartCount: number
  readonly safe: boolean
}

export interface TPMS_CERTIFY_INFO {
  readonly name: Uint8Array
  readonly qualifiedName: Uint8Array
}

export interface TPMS_QUOTE_INFO {
  readonly pcrSelect: TPML_PCR_SELECTION
  readonly pcrDigest: Uint8Array
}

export interface TPMS_CREATION_INFO {
  readonly objectName: Uint8Array
  readonly creationHash: Uint8Array
}

interface AttestBase {
  readonly raw: Uint8Array
  readonly magic: number
  readonly qualifiedSigner: Uint8Array
  readonly extraData: Uint8Array
  readonly clockInfo: TPMS_CLOCK_INFO
  readonly firmwareVersion: bigint
}

export type TPMS_ATTEST =
  | (AttestBase & { readonly type: typeof TPM_ST.ATTEST_CERTIFY; readonly attested: TPMS_CERTIFY_INFO })
  | (AttestBase & { readonly type: typeof TPM_ST.ATTEST_QUOTE; readonly attested: TPMS_QUOTE_INFO })
  | (AttestBase & { readonly type: typeof TPM_ST.ATTEST_CREATION; readonly attested: TPMS_CREATION_INFO })

/** sizeof(TPMT_HA) for SHA-512: the largest TPM2B_DATA / TPM2B_NAME digest part */
const MAX_DIGEST = 64

/** TPM2B_NAME (§10.5.3): empty, a 4-byte handle, or nameAlg || digest of that algorithm's size. */
export function readName(r: ByteReader, field: string): Uint8Array {
  const name = r.sized(field, 2 + MAX_DIGEST)
  if (name.length === 0 || name.length === 4) return name
  const alg = name.length >= 2 ? (name[0]! << 8) | name[1]! : 0
  if (!isHashAlg(alg) || name.length !== 2 + digestSizeOf(alg)) {
    throw new Tpm2Error('ERR_TPM2_MALFORMED', `${r.what}: ${field} is not a handle or a nameAlg || digest Name (${name.length} bytes)`)
  }
  return name
}

function readDigest(r: ByteReader, field: string): Uint8Array {
  return r.sized(field, MAX_DIGEST)
}

export function parseTpmsAttest(bytes: Uint8Array, what = 'TPMS_ATTEST'): TPMS_ATTEST {
  const r = new ByteReader(bytes, what)
  const magic = r.u32('magic')
  const type = r.u16('type')
  const qualifiedSigner = readName(r, 'qualifiedSigner')
  const extraData = r.sized('extraData', MAX_DIGEST)
  const clock = r.u64('clockInfo.clock')
  const resetCount = r.u32('clockInfo.resetCount')
  const restartCount = r.u32('clockInfo.restartCount')
  const safeByte = r.u8('clockInfo.safe')
  if (safeByte > 1) throw new Tpm2Error('ERR_TPM2_MALFORMED', `${what}: clockInfo.safe is ${safeByte}, expected 0 or 1`)
  const firmwareVersion = r.u64('firmwareVersion')
  const clockInfo = { clock, resetCount, restartCount, safe: safeByte === 1 }
  const head = { raw: bytes, magic, qualifiedSigner, extraData, clockInfo, firmwareVersion }
  let attest: TPMS_ATTEST
  switch (type) {
    case TPM_ST.ATTEST_CERTIFY:
      attest = { ...head, type, attested: { name: readName(r, 'attested.name'), qualifiedName: readName(r, 'attested.qualifiedName') } }
      break
    case TPM_ST.ATTEST_QUOTE:
      attest = { ...head, type, attested: { pcrSelect: readPcrSelection(r), pcrDigest: readDigest(r, 'attested.pcrDigest') } }
      break
    case TPM_ST.ATTEST_CREATION:
      attest = {
        ...head,
        type,
        attested: { objectName: readName(r, 'attested.objectName'), creationHash: readDigest(r, 'attested.creationHash') },
      }
      break
    default:
      throw new Tpm2Error(
        'ERR_TPM2_UNEXPECTED_TYPE',
        `${what}: attestation type 0x${type.toString(16)} is not certify (0x8017), quote (0x8018) or creation (0x801a)`,
      )
  }
  r.expectEnd()
  return attest
}

const TYPE_NAMES: Record<number, string> = {
  [TPM_ST.ATTEST_CERTIFY]: 'TPM_ST_ATTEST_CERTIFY (0x8017)',
  [TPM_ST.ATTEST_QUOTE]: 'TPM_ST_ATTEST_QUOTE (0x8018)',
  [TPM_ST.ATTEST_CREATION]: 'TPM_ST_ATTEST_CREATION (0x801a)',
}

/** magic == TPM_GENERATED_VALUE and the expected type, or a Tpm2Error saying which. */
export function checkAttestHeader(attest: TPMS_ATTEST, type: keyof typeof TYPE_NAMES, magicValue: number): void {
  if (attest.magic !== magicValue) {
    throw new Tpm2Error(
      'ERR_TPM2_NOT_TPM_GENERATED',
      `TPMS_ATTEST.magic is 0x${(attest.magic >>> 0).toString(16)}, expected TPM_GENERATED_VALUE 0xff544347`,
    )
  }
  if (attest.type !== type) {
    throw new Tpm2Error(
      'ERR_TPM2_UNEXPECTED_TYPE',
      `expected ${TYPE_NAMES[type]}, got ${TYPE_NAMES[attest.type] ?? `0x${attest.type.toString(16)}`}`,
    )
  }
}
