// TPM2_Certify verification (Part 3 §18.2): the signer (an AK) attests that the object named
// attested.name is loaded in the same TPM. Checked: signature over the raw TPMS_ATTEST in the
// signer's scheme, magic, type CERTIFY, and the full certified Name (algorithm and digest) against
// Name(certified public), computed over its bytes as received. SPIRE compares the digest only (G3).
import { bytesEqual } from '../bytes/equal.ts'
import { toHex } from '../bytes/encoding.ts'
import { Tpm2Error } from '../errors.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import { checkAttestHeader, type TPMS_ATTEST, type TPMS_CERTIFY_INFO } from './attest.ts'
import { TPM_GENERATED_VALUE, TPM_ST } from './constants.ts'
import { computeName } from './name.ts'
import type { TPMT_PUBLIC } from './public.ts'
import { verifyTpmSignature, type TPMT_SIGNATURE } from './signature.ts'

export interface CertifyResult {
  readonly certifiedName: Uint8Array
  readonly qualifiedSigner: Uint8Array
  readonly extraData: Uint8Array
  readonly clockInfo: TPMS_ATTEST['clockInfo']
  readonly firmwareVersion: bigint
}

export async function verifyCertify(
  input: { signer: TPMT_PUBLIC; attest: TPMS_ATTEST; signature: TPMT_SIGNATURE; certified: TPMT_PUBLIC; qualifyingData?: Uint8Array },
  platform: Platform = defaultPlatform(),
): Promise<CertifyResult> {
  const { attest } = input
  await verifyTpmSignature({ signer: input.signer, signature: input.signature, message: attest.raw }, platform, 'certify signature')
  checkAttestHeader(attest, TPM_ST.ATTEST_CERTIFY, TPM_GENERATED_VALUE)
  const info = attest.attested as TPMS_CERTIFY_INFO
  const expected = await computeName(input.certified, platform)
  if (!bytesEqual(info.name, expected)) {
    throw new Tpm2Error('ERR_TPM2_NAME_MISMATCH', 'certified Name is not the Name of the certified public area', {
      detail: {
        certifiedNameAlg: info.name.length >= 2 ? toHex(info.name.subarray(0, 2)) : '',
        expectedNameAlg: toHex(expected.subarray(0, 2)),
      },
    })
  }
  if (input.qualifyingData && !bytesEqual(attest.extraData, input.qualifyingData)) {
    throw new Tpm2Error('ERR_TPM2_QUALIFYING_DATA_MISMATCH', 'certify extraData is not the expected qualifying data')
  }
  return {
    certifiedName: info.name,
    qualifiedSigner: attest.qualifiedSigner,
    extraData: attest.extraData,
    clockInfo: attest.clockInfo,
    firmwareVersion: attest.firmwareVersion,
  }
}
