/**
 * Every fixed error message vouch sends, defined once (issue 12 item 8). The codes and what they
 * mean are in core/errors.ts; here are the texts a caller sees. Seed texts (SPIRE / Defakto
 * tpm_devid, issue 3 "Errors" and "Policy"; go-spiffe for SPIFFE IDs) are quoted exactly: agents
 * and end-to-end tests match them. Messages built from facts (an offset, a field name) are
 * written where they are thrown, or by the functions below when more than one place uses them.
 * test/core/messages.test.ts checks that no text here is written out anywhere else.
 */

// tpm_devid / tpm_ek attestation, the seed's
export const DEVID_CHAIN_FAILED = 'verify DevID certificate chain'
export const EK_VALIDATION_FAILED = 'EK validation failed'
export const EK_CERT_MISSING = 'missing EK certificate: signer is not configured with an EK hash allow-list'
export const EK_PUBLIC_KEY_MISMATCH = 'EK public key mismatch'
export const DEVID_CERTIFICATION_FAILED = 'DevID certification verification failed'
export const DEVID_SIGNATURE_FAILED = 'DevID signature verification failed'
export const DEVID_KEY_MISMATCH = 'DevID certificate public key does not match TPM-resident DevID key'
export const CREDENTIAL_SECRET_MISMATCH = 'credential activation secret does not match'
export const UNKNOWN_SESSION = 'unknown session ID'

/** `DevID public: unsupported hash algorithm <alg>: only SHA-256 is supported` (seed) */
export function devIdUnsupportedHash(alg: string): string {
  return `DevID public: unsupported hash algorithm ${alg}: only SHA-256 is supported`
}

// attestation, vouch's own
export const SESSION_EXPIRED = 'attestation session expired'
export const SESSION_KEY_RETIRED = 'attestation session sealed with a retired key'
export const SESSION_STORE_FULL = 'attestation session store is full; retry later'
export const AK_ATTRIBUTES_INVALID = 'AK public: attributes do not make a restricted, TPM-resident signing key'
export const DEVID_ATTRIBUTES_INVALID = 'DevID public: attributes do not make a TPM-resident, unrestricted signing key'
export const AGENT_BANNED = 'agent is banned'
export const KEY_DATA_REJECTED = 'key material rejected by the crypto provider'
export const EVIDENCE_NOT_OBJECT = 'evidence: expected an object keyed by attestor type'
export const ANSWERS_NOT_OBJECT = 'answers: expected an object keyed by attestor type'

// policy validation, the seed's
export const DEVID_CA_REQUIRED = 'devIDCACerts is required'
export const EK_TRUST_REQUIRED = 'at least one of endorsementCACerts or allowedEKHashes must be set'
export const DEVID_CA_NO_PEM = 'devIDCACerts: could not parse any PEM certificates'
export const EK_CA_NO_PEM = 'endorsementCACerts: could not parse any PEM certificates'
export const NO_POLICY_AUTHORIZES = 'no cluster policy authorizes the provided attestors'

/** `allowedEKHashes[N]: expected 64-char hex SHA-256 hash` (seed) */
export function badEkHash(index: number): string {
  return `allowedEKHashes[${index}]: expected 64-char hex SHA-256 hash`
}

// SPIFFE IDs, go-spiffe's texts
export const SPIFFE_ID_EMPTY = 'cannot be empty'
export const SPIFFE_ID_WRONG_SCHEME = 'scheme is missing or invalid'
export const TRUST_DOMAIN_MISSING = 'trust domain is missing'
export const TRUST_DOMAIN_BAD_CHAR = 'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores'
export const PATH_EMPTY_SEGMENT = 'path cannot contain empty segments'
export const PATH_DOT_SEGMENT = 'path cannot contain dot segments'
export const PATH_TRAILING_SLASH = 'path cannot have a trailing slash'
export const PATH_NO_LEADING_SLASH = 'path must have a leading slash'
export const PATH_BAD_CHAR = 'path segment characters are limited to letters, numbers, dots, dashes, and underscores'

// server requests
export const INTERNAL_ERROR = 'internal server error'
export const REQUEST_TOO_LARGE = 'request body is too large'
export const REQUEST_BODY_NOT_JSON = 'request body: not valid JSON'
export const REQUEST_BODY_NOT_OBJECT = 'request body: expected a JSON object'
export const CSR_NOT_BASE64_DER = 'csr: expected base64 PKCS#10 DER'

// the SPIFFE Workload API wire (core/workload/)
export const WORKLOAD_MESSAGE_DEPTH = 'messages or groups nest deeper than 64 levels'
export const GRPC_FRAME_COMPRESSED = 'gRPC message: compressed flag set, but no grpc-encoding was negotiated'
export const GRPC_FRAME_TRUNCATED = 'gRPC stream ended inside a length-prefixed message'
export const WORKLOAD_CLIENT_CLOSED = 'workload api client is closed'
