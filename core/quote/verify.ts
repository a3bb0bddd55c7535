// TPM2_Quote verification (Part 3 §18.4): the AK's signature over the exact TPMS_ATTEST bytes in
// the AK's scheme, TPM origin (magic), type QUOTE, nonce binding through extraData, and the PCR
// digest recomputed from the supplied values with the signing scheme's hash.
import { bytesEqual } from '../bytes/equal.ts'
import { QuoteError } from '../errors.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import { checkAttestHeader, type TPMS_ATTEST, type TPMS_CLOCK_INFO, type TPMS_QUOTE_INFO } from '../tpm2/attest.ts'
import { TPM_GENERATED_VALUE, TPM_ST, tpmHashToWebCrypto } from '../tpm2/constants.ts'
import type { TPML_PCR_SELECTION } from '../tpm2/pcr-selection.ts'
import type { TPMT_PUBLIC } from '../tpm2/public.ts'
import { verifyTpmSignature, verifyTpmSignatureWithKey, type TPMT_SIGNATURE } from '../tpm2/signature.ts'
import type { PublicKey } from '../crypto/provider.ts'
import { checkPcrValues, computePcrDigest } from './pcr-digest.ts'

export interface QuoteInput {
  /** the AK: a TPMT_PUBLIC (scheme enforced) or, when only a certificate names it, a PublicKey */
  readonly ak: TPMT_PUBLIC | PublicKey
  readonly attest: TPMS_ATTEST
  readonly signature: TPMT_SIGNATURE
  /** the verifier's nonce; extraData must equal it exactly */
  readonly nonce: Uint8Array
  /** one value per selected PCR, in selection order (banks in order, PCRs ascending) */
  readonly pcrValues: readonly Uint8Array[]
}

export interface QuoteResult {
  readonly pcrSelect: TPML_PCR_SELECTION
  readonly pcrValues: readonly Uint8Array[]
  readonly clockInfo: TPMS_CLOCK_INFO
  readonly firmwareVersion: bigint
  readonly qualifiedSigner: Uint8Array
}

export async function verifyQuote(input: QuoteInput, options: { platform?: Platform } = {}): Promise<QuoteResult> {
  const platform = options.platform ?? defaultPlatform()
  const { attest, signature } = input
  if ('kty' in input.ak) await verifyTpmSignatureWithKey(input.ak, signature, attest.raw, platform, 'quote signature')
  else await verifyTpmSignature({ signer: input.ak, signature, message: attest.raw }, platform, 'quote signature')
  checkAttestHeader(attest, TPM_ST.ATTEST_QUOTE, TPM_GENERATED_VALUE)
  if (!bytesEqual(attest.extraData, input.nonce)) {
    throw new QuoteError(
      'ERR_QUOTE_NONCE_MISMATCH',
      `quote extraData (${attest.extraData.length} bytes) is not the expected nonce (${input.nonce.length} bytes)`,
    )
  }
  const info = attest.attested as TPMS_QUOTE_INFO
  checkPcrValues(info.pcrSelect, input.pcrValues)
  const digest = await computePcrDigest(input.pcrValues, tpmHashToWebCrypto(signature.hash)!, platform)
  if (!bytesEqual(digest, info.pcrDigest)) {
    throw new QuoteError('ERR_QUOTE_PCR_DIGEST_MISMATCH', 'PCR values do not hash to the quoted pcrDigest', {
      detail: { banks: info.pcrSelect.length, pcrs: input.pcrValues.length },
    })
  }
  return {
    pcrSelect: info.pcrSelect,
    pcrValues: input.pcrValues,
    clockInfo: attest.clockInfo,
    firmwareVersion: attest.firmwareVersion,
    qualifiedSigner: attest.qualifiedSigner,
  }
}
