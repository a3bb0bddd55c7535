/** The seed's attestation error messages, verbatim (issue 3 "Errors"), and vouch's own for what the seed does not name. */
export const DEVID_CHAIN_FAILED = 'verify DevID certificate chain'
export const EK_VALIDATION_FAILED = 'EK validation failed'
export const EK_CERT_MISSING = 'missing EK certificate: signer is not configured with an EK hash allow-list'
export const EK_PUBLIC_KEY_MISMATCH = 'EK public key mismatch'
export const DEVID_CERTIFICATION_FAILED = 'DevID certification verification failed'
export const DEVID_SIGNATURE_FAILED = 'DevID signature verification failed'
export const DEVID_KEY_MISMATCH = 'DevID certificate public key does not match TPM-resident DevID key'
export const CREDENTIAL_SECRET_MISMATCH = 'credential activation secret does not match'
export const UNKNOWN_SESSION = 'unknown session ID'

/** `DevID public: unsupported hash algorithm <alg>: only SHA-256 is supported` */
export function devIdUnsupportedHash(alg: string): string {
  return `DevID public: unsupported hash algorithm ${alg}: only SHA-256 is supported`
}

// vouch's own
export const SESSION_EXPIRED = 'attestation session expired'
export const AK_ATTRIBUTES_INVALID = 'AK public: attributes do not make a restricted, TPM-resident signing key'
export const DEVID_ATTRIBUTES_INVALID = 'DevID public: attributes do not make a TPM-resident, unrestricted signing key'
