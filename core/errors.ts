/**
 * One error family for everything vouch verifies.
 *
 * - `code` is API: stable, `ERR_<FAMILY>_<WHAT>`, listed in {@link ERROR_CODES} and in docs/errors.md.
 * - `message` is for humans: lowercase, says what was expected and what was found. It never carries
 *   a secret, a nonce, a key or a whole certificate. Where the seed documents (SPIRE / Defakto
 *   tpm_devid) name a message, it is quoted exactly.
 * - `detail` holds safe, loggable facts (offsets, algorithm names, sizes).
 *
 * Caller misuse (a wrong argument type, a missing option) throws TypeError/RangeError instead,
 * as jose does, so a server can map VerifyError to 4xx and everything else to 500.
 */

/** Every stable code, with what it means. Adding one is a minor change; renaming one is major. */
export const ERROR_CODES = {
  // bytes, encodings
  ERR_ENCODING_MALFORMED: 'hex, base64 or PEM text could not be decoded',
  ERR_INPUT_TOO_LARGE: 'an input is larger than its bound',
  // DER
  ERR_DER_MALFORMED: 'DER is not well formed (tag, length or content)',
  ERR_DER_TRAILING_DATA: 'bytes follow the end of a DER structure',
  // X.509
  ERR_X509_MALFORMED: 'a certificate does not parse as X.509 v3',
  ERR_X509_UNSUPPORTED_ALGORITHM: 'a certificate uses a signature or key algorithm vouch does not support',
  ERR_X509_EXPIRED: 'a certificate is past its notAfter',
  ERR_X509_NOT_YET_VALID: 'a certificate is before its notBefore',
  ERR_X509_SIGNATURE_INVALID: 'a certificate signature does not verify with its issuer key',
  ERR_X509_NO_PATH: 'no path from the leaf to a trust anchor',
  ERR_X509_CONSTRAINT_VIOLATED: 'basicConstraints, pathLen, keyUsage or name constraints are violated',
  ERR_X509_UNKNOWN_CRITICAL_EXTENSION: 'a critical extension vouch does not process',
  ERR_X509_PROFILE: 'a certificate does not meet the profile it was checked against',
  // TPM 2.0 structures and commands
  ERR_TPM2_MALFORMED: 'a TPM 2.0 structure does not parse',
  ERR_TPM2_TRAILING_DATA: 'bytes follow the end of a TPM 2.0 structure',
  ERR_TPM2_UNSUPPORTED_ALGORITHM: 'a TPM algorithm vouch does not support',
  ERR_TPM2_NOT_TPM_GENERATED: 'TPMS_ATTEST.magic is not TPM_GENERATED_VALUE',
  ERR_TPM2_UNEXPECTED_TYPE: 'TPMS_ATTEST.type is not the expected attestation type',
  ERR_TPM2_SIGNATURE_INVALID: 'a TPM signature does not verify',
  ERR_TPM2_SCHEME_MISMATCH: 'a TPMT_SIGNATURE does not use the signing key scheme',
  ERR_TPM2_ATTRIBUTES: 'TPMA_OBJECT attributes do not meet the required profile',
  ERR_TPM2_NAME_MISMATCH: 'a certified Name is not the Name of the expected object',
  ERR_TPM2_QUALIFYING_DATA_MISMATCH: 'TPMS_ATTEST.extraData is not the expected qualifying data',
  ERR_TPM2_RESPONSE_CODE: 'the TPM answered a command with an error response code',
  // quotes
  ERR_QUOTE_NONCE_MISMATCH: 'the quote extraData is not the expected nonce',
  ERR_QUOTE_PCR_DIGEST_MISMATCH: 'PCR values do not hash to the quoted pcrDigest',
  ERR_QUOTE_PCR_SELECTION: 'supplied PCR values do not fit the quoted selection',
  // credential activation
  ERR_CREDENTIAL_UNSUPPORTED_KEY: 'MakeCredential cannot encrypt to this EK',
  ERR_CREDENTIAL_MISMATCH: 'the activated credential is not the issued secret',
  // EK
  ERR_EK_UNTRUSTED: 'the EK is not trusted by CA or by hash',
  ERR_EK_MISMATCH: 'the EK public key is not the EK certificate key',
  ERR_EK_MISSING_CERTIFICATE: 'an EK certificate is required but missing',
  // DevID
  ERR_DEVID_CHAIN: 'the DevID certificate chain does not verify',
  ERR_DEVID_KEY_MISMATCH: 'the TPM-resident DevID key is not the DevID certificate key',
  ERR_DEVID_CERTIFICATION: 'the TPM2_Certify over the DevID key does not verify',
  ERR_DEVID_SIGNATURE: 'the DevID signature over the nonce does not verify',
  ERR_DEVID_UNSUPPORTED_HASH: 'the DevID key scheme hash is not SHA-256',
  // certificate profiles (EK credential profile, DevID leaf profile) and their named tolerances
  ERR_EK_PROFILE: 'the EK certificate does not meet the TCG EK Credential Profile (with the tolerances the policy enables)',
  ERR_DEVID_PROFILE: 'the DevID leaf certificate does not meet the DevID profile (with the tolerances the policy enables)',
  // attestation flow, sessions, policy
  ERR_EVIDENCE_MALFORMED: 'attestation evidence is missing a field or has a wrong type',
  ERR_SESSION_UNKNOWN: 'no such attestation session',
  ERR_SESSION_EXPIRED: 'the attestation session expired',
  ERR_SESSION_STORE_FULL: 'the session store is at capacity',
  ERR_POLICY_INVALID: 'a policy document does not validate',
  ERR_POLICY_DENIED: 'no policy authorizes the provided attestors',
  ERR_AGENT_BANNED: 'the agent is banned',
  // SPIFFE
  ERR_SPIFFE_ID_INVALID: 'a SPIFFE ID or trust domain does not meet the SPIFFE ID specification',
  ERR_BUNDLE_MALFORMED: 'a SPIFFE bundle does not parse',
  ERR_BUNDLE_NOT_FOUND: 'no bundle for the trust domain',
  ERR_SVID_INVALID: 'an SVID does not meet the SVID specification',
  ERR_SVID_UNTRUSTED: 'an SVID does not chain to its trust domain bundle',
  ERR_SVID_ID_NOT_ALLOWED: 'the SVID SPIFFE ID is not allowed by the matcher',
  ERR_JWT_SVID_INVALID: 'a JWT-SVID is malformed or fails a claim check',
  ERR_JWT_SVID_EXPIRED: 'a JWT-SVID is expired',
  ERR_JWT_SVID_AUDIENCE: 'a JWT-SVID does not carry the expected audience',
  ERR_JWT_SVID_SIGNATURE: 'a JWT-SVID signature does not verify',
  ERR_FEDERATION_FETCH: 'fetching a bundle from a bundle endpoint failed',
  // registration entries and workload SVID issuance (server)
  ERR_ENTRY_INVALID: 'a registration entry field does not validate (SPIFFE ID, parent, TTL, DNS name)',
  ERR_ENTRY_SELECTOR_INVALID: 'a selector is not type:value or names an unknown selector type',
  ERR_ENTRY_LIMIT: 'a registration entry exceeds a bound (selectors, DNS names, entries per parent)',
  ERR_ENTRY_NOT_FOUND: 'no registration entry with this ID',
  ERR_ENTRY_EXISTS: 'an entry with the same SPIFFE ID, parent and selectors exists',
  ERR_ENTRY_UNAUTHENTICATED: 'the caller presented no valid agent X.509-SVID (mTLS client certificate)',
  ERR_ENTRY_NOT_AUTHORIZED: 'the registration entry is not parented to the calling agent',
  ERR_ENTRY_CSR_INVALID: 'a workload certification request does not parse or its signature does not verify',
  ERR_ENTRY_AUDIENCE_INVALID: 'a JWT-SVID request has no audience or an audience out of bounds',
  // general
  ERR_NOT_SUPPORTED: 'a feature vouch does not implement',
} as const

export type ErrorCode = keyof typeof ERROR_CODES

/** Safe-to-log facts only. */
export type ErrorDetail = Readonly<Record<string, string | number | boolean>>

export class VerifyError extends Error {
  readonly code: ErrorCode
  readonly detail: ErrorDetail

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; detail?: ErrorDetail } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.detail = Object.freeze({ ...options.detail })
  }

  /** `{ code, message }`, the shape servers and the CLI print. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message }
  }
}

// Families: `instanceof` selects a family, `switch (err.code)` a case.
export class EncodingError extends VerifyError {}
export class DerError extends VerifyError {}
export class X509Error extends VerifyError {}
export class Tpm2Error extends VerifyError {}
export class QuoteError extends VerifyError {}
export class CredentialError extends VerifyError {}
export class AttestationError extends VerifyError {}
export class PolicyError extends VerifyError {}
export class SpiffeError extends VerifyError {}

export function isVerifyError(e: unknown): e is VerifyError {
  return e instanceof VerifyError
}
