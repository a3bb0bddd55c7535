// vouch/tpm2: TPM 2.0 structures (TPMT_PUBLIC, TPMS_ATTEST, TPMT_SIGNATURE, TPML_PCR_SELECTION),
// Names, TPM2_Certify and TPM2_Quote verification, EK certificates and EK public hashes.
export {
  TPM_ALG,
  TPM_ST,
  TPM_ECC,
  TPMA_OBJECT,
  TPM_GENERATED_VALUE,
  TPM_RH,
  EK_CERT_NV_INDEX,
  algName,
  digestSizeOf,
  type TpmaObjectBit,
} from '../tpm2/constants.ts'
export {
  parseTpmtPublic,
  parseTpm2bPublic,
  encodeTpmtPublic,
  toTpm2bPublic,
  type TPMT_PUBLIC,
  type TPMT_PUBLIC_RSA,
  type TPMT_PUBLIC_ECC,
  type TPMS_RSA_PARMS,
  type TPMS_ECC_PARMS,
  type TPMT_SCHEME,
  type TPMT_SYM_DEF_OBJECT,
} from '../tpm2/public.ts'
export { computeName } from '../tpm2/name.ts'
export { publicKeyFromTpmtPublic, publicKeysEqual } from '../tpm2/public-key.ts'
export {
  checkAkPublic,
  checkDevIdPublic,
  checkObjectAttributes,
  AK_ATTRIBUTES,
  DEVID_ATTRIBUTES,
  type AttributeProfile,
} from '../tpm2/attributes.ts'
export { parsePcrSelection, encodePcrSelection, type TPMS_PCR_SELECTION, type TPML_PCR_SELECTION } from '../tpm2/pcr-selection.ts'
export {
  parseTpmsAttest,
  type TPMS_ATTEST,
  type TPMS_CLOCK_INFO,
  type TPMS_CERTIFY_INFO,
  type TPMS_QUOTE_INFO,
  type TPMS_CREATION_INFO,
} from '../tpm2/attest.ts'
export { parseTpmtSignature, verifyTpmSignature, verifyTpmSignatureWithKey, type TPMT_SIGNATURE } from '../tpm2/signature.ts'
export { verifyCertify, type CertifyResult } from '../tpm2/certify.ts'
export { verifyQuote, type QuoteInput, type QuoteResult } from '../quote/verify.ts'
export { computePcrDigest, splitPcrValues, checkPcrValues } from '../quote/pcr-digest.ts'
export {
  checkEkCertificateProfile,
  evaluateEkCertificateProfile,
  describeEkCertificate,
  EK_PROFILE_TOLERANCES,
  parseTpmIdentity,
  ekPublicHash,
  ekPublicHashOfKey,
  type EkProfileOptions,
  type EkProfileResult,
  type EkProfileTolerance,
  type TpmIdentity,
} from '../ek/index.ts'
