/**
 * One error catalogue for everything vouch verifies.
 *
 * - `code` is API: stable, `ERR_<FAMILY>_<WHAT>`, declared once in {@link ERROR_CATALOGUE} under its
 *   family, with what it means and the HTTP status a server answers it with. docs/errors.md is
 *   generated from the catalogue. Adding a code is one line in its family's block.
 * - Each family has a class ({@link X509Error}, {@link Tpm2Error}, ...) that accepts only its own
 *   codes and the general ones: `new DevIdError('ERR_X509_EXPIRED', ...)` does not compile, and
 *   throws a TypeError from plain JavaScript.
 * - `message` is for humans: lowercase, says what was expected and what was found. It never carries
 *   a secret, a nonce, a key or a whole certificate. Fixed texts live in core/messages.ts; where
 *   the seed documents (SPIRE / Defakto tpm_devid) name a message, it is quoted exactly.
 * - `detail` holds safe, loggable facts (offsets, algorithm names, sizes, certificate subjects,
 *   serials and fingerprints, dates) that let an operator act on a failure.
 *
 * Caller misuse (a wrong argument type, a missing option) throws TypeError/RangeError instead,
 * as jose does, so a server can map VerifyError to 4xx and everything else to 500.
 */

/** The HTTP status a server answers a code with: 400/413/415 client mistakes, 401 failed proofs, 403 refusals. */
export type ErrorStatus = 400 | 401 | 403 | 404 | 410 | 413 | 415 | 429 | 500 | 501 | 503

export interface ErrorEntry {
  readonly status: ErrorStatus
  readonly meaning: string
}

/** Every stable code by family. Adding one is a minor change; renaming one is major. */
export const ERROR_CATALOGUE = {
  /** codes any family may carry */
  general: {
    ERR_INPUT_TOO_LARGE: { status: 413, meaning: 'an input is larger than its bound' },
    ERR_NOT_SUPPORTED: { status: 501, meaning: 'a feature vouch does not implement' },
  },
  encoding: {
    ERR_ENCODING_MALFORMED: { status: 400, meaning: 'hex, base64 or PEM text could not be decoded' },
  },
  der: {
    ERR_DER_MALFORMED: { status: 400, meaning: 'DER is not well formed (tag, length or content)' },
    ERR_DER_TRAILING_DATA: { status: 400, meaning: 'bytes follow the end of a DER structure' },
  },
  x509: {
    ERR_X509_MALFORMED: { status: 400, meaning: 'a certificate does not parse as X.509 v3' },
    ERR_X509_UNSUPPORTED_ALGORITHM: { status: 400, meaning: 'a certificate uses a signature or key algorithm vouch does not support' },
    ERR_X509_EXPIRED: { status: 401, meaning: 'a certificate is past its notAfter' },
    ERR_X509_NOT_YET_VALID: { status: 401, meaning: 'a certificate is before its notBefore' },
    ERR_X509_SIGNATURE_INVALID: { status: 401, meaning: 'a certificate signature does not verify with its issuer key' },
    ERR_X509_NO_PATH: { status: 401, meaning: 'no path from the leaf to a trust anchor' },
    ERR_X509_CONSTRAINT_VIOLATED: { status: 401, meaning: 'basicConstraints, pathLen, keyUsage or name constraints are violated' },
    ERR_X509_UNKNOWN_CRITICAL_EXTENSION: { status: 401, meaning: 'a critical extension vouch does not process' },
    ERR_X509_PROFILE: { status: 401, meaning: 'a certificate does not meet the profile it was checked against' },
  },
  tpm2: {
    ERR_TPM2_MALFORMED: { status: 400, meaning: 'a TPM 2.0 structure does not parse' },
    ERR_TPM2_TRAILING_DATA: { status: 400, meaning: 'bytes follow the end of a TPM 2.0 structure' },
    ERR_TPM2_UNSUPPORTED_ALGORITHM: { status: 400, meaning: 'a TPM algorithm vouch does not support' },
    ERR_TPM2_NOT_TPM_GENERATED: { status: 401, meaning: 'TPMS_ATTEST.magic is not TPM_GENERATED_VALUE' },
    ERR_TPM2_UNEXPECTED_TYPE: { status: 401, meaning: 'TPMS_ATTEST.type is not the expected attestation type' },
    ERR_TPM2_SIGNATURE_INVALID: { status: 401, meaning: 'a TPM signature does not verify' },
    ERR_TPM2_SCHEME_MISMATCH: { status: 401, meaning: 'a TPMT_SIGNATURE does not use the signing key scheme' },
    ERR_TPM2_ATTRIBUTES: { status: 401, meaning: 'TPMA_OBJECT attributes do not meet the required profile' },
    ERR_TPM2_NAME_MISMATCH: { status: 401, meaning: 'a certified Name is not the Name of the expected object' },
    ERR_TPM2_QUALIFYING_DATA_MISMATCH: { status: 401, meaning: 'TPMS_ATTEST.extraData is not the expected qualifying data' },
    ERR_TPM2_RESPONSE_CODE: { status: 400, meaning: 'the TPM answered a command with an error response code' },
  },
  quote: {
    ERR_QUOTE_NONCE_MISMATCH: { status: 401, meaning: 'the quote extraData is not the expected nonce' },
    ERR_QUOTE_PCR_DIGEST_MISMATCH: { status: 401, meaning: 'PCR values do not hash to the quoted pcrDigest' },
    ERR_QUOTE_PCR_SELECTION: { status: 401, meaning: 'supplied PCR values do not fit the quoted selection' },
  },
  credential: {
    ERR_CREDENTIAL_UNSUPPORTED_KEY: { status: 400, meaning: 'MakeCredential cannot encrypt to this EK' },
    ERR_CREDENTIAL_MISMATCH: { status: 401, meaning: 'the activated credential is not the issued secret' },
  },
  ek: {
    ERR_EK_UNTRUSTED: { status: 401, meaning: 'the EK is not trusted by CA or by hash' },
    ERR_EK_MISMATCH: { status: 401, meaning: 'the EK public key is not the EK certificate key' },
    ERR_EK_MISSING_CERTIFICATE: { status: 401, meaning: 'an EK certificate is required but missing' },
    ERR_EK_PROFILE: {
      status: 401,
      meaning: 'the EK certificate does not meet the TCG EK Credential Profile (with the tolerances the policy enables)',
    },
  },
  devid: {
    ERR_DEVID_CHAIN: { status: 401, meaning: 'the DevID certificate chain does not verify' },
    ERR_DEVID_KEY_MISMATCH: { status: 401, meaning: 'the TPM-resident DevID key is not the DevID certificate key' },
    ERR_DEVID_CERTIFICATION: { status: 401, meaning: 'the TPM2_Certify over the DevID key does not verify' },
    ERR_DEVID_SIGNATURE: { status: 401, meaning: 'the DevID signature over the nonce does not verify' },
    ERR_DEVID_UNSUPPORTED_HASH: { status: 400, meaning: 'the DevID key scheme hash is not SHA-256' },
    ERR_DEVID_PROFILE: {
      status: 401,
      meaning: 'the DevID leaf certificate does not meet the DevID profile (with the tolerances the policy enables)',
    },
  },
  /** the attestation flow and its sessions */
  attestation: {
    ERR_EVIDENCE_MALFORMED: { status: 400, meaning: 'attestation evidence is missing a field or has a wrong type' },
    ERR_SESSION_UNKNOWN: { status: 404, meaning: 'no such attestation session' },
    ERR_SESSION_EXPIRED: { status: 410, meaning: 'the attestation session expired' },
    ERR_SESSION_STORE_FULL: { status: 503, meaning: 'the session store is at capacity' },
    // sealed sessions (core/session/sealed.ts)
    ERR_SESSION_KEY_RETIRED: { status: 410, meaning: 'the sealed session was sealed with a key that is now retired; start again' },
    ERR_AGENT_BANNED: { status: 403, meaning: 'the agent is banned' },
    ERR_SVID_KEY_REJECTED: { status: 400, meaning: 'the key to certify is too weak or of a kind the server does not certify' },
    ERR_SVID_KEY_UNPROVEN: { status: 401, meaning: 'the agent did not prove it holds the private key of the key to certify' },
    // measured boot: the quote in the answer, the event log, the boot policy (core/attestation/boot.ts)
    ERR_BOOT_QUOTE_MISSING: { status: 400, meaning: 'the policy requires a boot quote and the answer carries none' },
    ERR_BOOT_QUOTE_MALFORMED: { status: 400, meaning: 'the boot quote, its PCR values or its event log do not decode' },
    ERR_BOOT_QUOTE_SIGNATURE: { status: 401, meaning: 'the boot quote is not signed by the attested AK' },
    ERR_BOOT_QUOTE_NONCE: { status: 401, meaning: "the boot quote is not over this session's quote nonce" },
    ERR_BOOT_QUOTE_SELECTION: { status: 401, meaning: 'the boot quote does not cover the PCR selection the challenge asked for' },
    ERR_BOOT_REPLAY_MISMATCH: { status: 401, meaning: 'the event log does not replay to the quoted PCR values' },
    ERR_BOOT_SECURE_BOOT: { status: 403, meaning: 'the policy requires Secure Boot and the verified log does not show it enabled' },
    ERR_BOOT_PCR_NOT_ALLOWED: { status: 403, meaning: 'a quoted PCR value is not one the policy allows' },
    ERR_BOOT_DB_NOT_ALLOWED: { status: 403, meaning: 'the db holds a certificate the policy does not allow' },
    ERR_BOOT_DB_FORBIDDEN: { status: 403, meaning: 'the db holds a certificate the policy forbids' },
    ERR_BOOT_DBX_MISSING: { status: 403, meaning: 'the dbx lacks an entry the policy requires' },
    ERR_BOOT_DBX_HIT: { status: 403, meaning: 'a boot application or authority of the log is revoked by the dbx' },
    ERR_BOOT_APPLICATION_NOT_ALLOWED: { status: 403, meaning: 'a boot application digest is not one the policy allows' },
    ERR_BOOT_CMDLINE: { status: 403, meaning: 'the kernel command line does not match the policy pattern' },
  },
  policy: {
    ERR_POLICY_INVALID: { status: 400, meaning: 'a policy document does not validate' },
    ERR_POLICY_DENIED: { status: 403, meaning: 'no policy authorizes the provided attestors' },
  },
  spiffe: {
    ERR_SPIFFE_ID_INVALID: { status: 400, meaning: 'a SPIFFE ID or trust domain does not meet the SPIFFE ID specification' },
    ERR_BUNDLE_MALFORMED: { status: 400, meaning: 'a SPIFFE bundle does not parse' },
    ERR_BUNDLE_NOT_FOUND: { status: 404, meaning: 'no bundle for the trust domain' },
    ERR_SVID_INVALID: { status: 400, meaning: 'an SVID does not meet the SVID specification' },
    ERR_SVID_UNTRUSTED: { status: 401, meaning: 'an SVID does not chain to its trust domain bundle' },
    ERR_SVID_ID_NOT_ALLOWED: { status: 403, meaning: 'the SVID SPIFFE ID is not allowed by the matcher' },
    ERR_JWT_SVID_INVALID: { status: 400, meaning: 'a JWT-SVID is malformed or fails a claim check' },
    ERR_JWT_SVID_EXPIRED: { status: 401, meaning: 'a JWT-SVID is expired' },
    ERR_JWT_SVID_AUDIENCE: { status: 401, meaning: 'a JWT-SVID does not carry the expected audience' },
    ERR_JWT_SVID_SIGNATURE: { status: 401, meaning: 'a JWT-SVID signature does not verify' },
    ERR_FEDERATION_FETCH: { status: 400, meaning: 'fetching a bundle from a bundle endpoint failed' },
    /** agent trust bundle updates (agent/bundle-update.ts) */
    ERR_BUNDLE_UNTRUSTED: {
      status: 401,
      meaning: 'a received bundle does not overlap the current trust or adds a root it does not vouch for',
    },
  },
  /** TCG event logs (measured boot) */
  eventlog: {
    ERR_EVENTLOG_MALFORMED: { status: 400, meaning: 'a TCG event log does not parse (truncated record, impossible size or count)' },
    ERR_EVENTLOG_TOO_LARGE: { status: 401, meaning: 'a TCG event log exceeds its byte, event or event-data bound' },
    ERR_EVENTLOG_SPEC_ID: { status: 401, meaning: 'the Spec ID Event03 of a crypto-agile event log is invalid' },
    ERR_EVENTLOG_EVENT_DATA: { status: 401, meaning: 'the data of a TCG event does not decode as its structure' },
    ERR_EVENTLOG_REPLAY_MISMATCH: { status: 401, meaning: 'an event log does not replay to the quoted PCR values' },
  },
  /** the agent's SPIFFE Workload API and Envoy SDS server (agent/workload/api/); gRPC status in the comment */
  workloadApi: {
    ERR_WORKLOAD_API_SECURITY_HEADER: {
      status: 400,
      meaning: 'a Workload API call lacks the `workload.spiffe.io: true` metadata (InvalidArgument)',
    },
    ERR_WORKLOAD_API_NO_IDENTITY: { status: 403, meaning: 'no registration entry matches the calling workload (PermissionDenied)' },
    ERR_WORKLOAD_API_CALLER_UNVERIFIED: {
      status: 403,
      meaning:
        'the caller could not be attested: no peer credentials, it exited, or it changed uid/gid since connecting (PermissionDenied)',
    },
    ERR_WORKLOAD_API_REQUEST_INVALID: {
      status: 400,
      meaning: 'a Workload API or SDS request does not decode or lacks a required field (InvalidArgument)',
    },
    ERR_WORKLOAD_API_JWT_INVALID: { status: 401, meaning: 'ValidateJWTSVID: the token does not validate (InvalidArgument)' },
    ERR_WORKLOAD_API_METHOD_UNKNOWN: { status: 404, meaning: 'no such gRPC service or method on the agent socket (Unimplemented)' },
    ERR_WORKLOAD_API_LIMIT: {
      status: 429,
      meaning: 'a connection, stream or message bound of the agent socket is reached (ResourceExhausted)',
    },
    ERR_WORKLOAD_API_UNAVAILABLE: {
      status: 503,
      meaning: 'the agent has no identity material to answer with yet, or the server refused a JWT-SVID (Unavailable)',
    },
    ERR_WORKLOAD_API_SDS_NOT_AUTHORIZED: {
      status: 403,
      meaning: 'SDS: a requested secret is not one the workload is entitled to (InvalidArgument, as SPIRE answers)',
    },
    ERR_WORKLOAD_API_NATIVE_MISSING: {
      status: 501,
      meaning: 'the Workload API cannot start: the peer-credential addon is not built or not supported here',
    },
  },
  /** registration entries and workload SVID issuance (server) */
  entry: {
    ERR_ENTRY_INVALID: { status: 400, meaning: 'a registration entry field does not validate (SPIFFE ID, parent, TTL, DNS name)' },
    ERR_ENTRY_SELECTOR_INVALID: { status: 400, meaning: 'a selector is not type:value or names an unknown selector type' },
    ERR_ENTRY_LIMIT: { status: 400, meaning: 'a registration entry exceeds a bound (selectors, DNS names, entries per parent)' },
    ERR_ENTRY_NOT_FOUND: { status: 404, meaning: 'no registration entry with this ID' },
    ERR_ENTRY_EXISTS: { status: 400, meaning: 'an entry with the same SPIFFE ID, parent and selectors exists' },
    ERR_ENTRY_UNAUTHENTICATED: { status: 401, meaning: 'the caller presented no valid agent X.509-SVID (mTLS client certificate)' },
    ERR_ENTRY_NOT_AUTHORIZED: { status: 403, meaning: 'the registration entry is not parented to the calling agent' },
    ERR_ENTRY_CSR_INVALID: {
      status: 400,
      meaning: 'a workload certification request does not parse or its signature does not verify',
    },
    ERR_ENTRY_AUDIENCE_INVALID: { status: 400, meaning: 'a JWT-SVID request has no audience or an audience out of bounds' },
  },
  /** the SPIFFE Workload API: its protobuf messages, gRPC framing and the client (core/workload/, runtimes/workload/) */
  workload: {
    ERR_WORKLOAD_MALFORMED: {
      status: 400,
      meaning: 'a Workload API protobuf message does not decode (truncated, overlong varint, bad wire type, invalid UTF-8)',
    },
    ERR_WORKLOAD_FRAME_INVALID: {
      status: 400,
      meaning: 'a gRPC length-prefixed message is invalid (compressed flag set, truncated at the end of the stream)',
    },
    ERR_WORKLOAD_RESPONSE_INVALID: {
      status: 400,
      meaning: 'a Workload API response decodes but breaks the SPIFFE Workload API rules (a required field is empty)',
    },
    ERR_WORKLOAD_ENDPOINT_INVALID: {
      status: 400,
      meaning: 'the Workload API endpoint address (SPIFFE_ENDPOINT_SOCKET) is missing or not a valid unix: or tcp: URI',
    },
    ERR_WORKLOAD_STATUS: { status: 503, meaning: 'the Workload API answered a call with a gRPC status other than OK' },
    ERR_WORKLOAD_CLOSED: { status: 503, meaning: 'the Workload API client or source was closed' },
    ERR_WORKLOAD_NO_IDENTITY: {
      status: 503,
      meaning: 'a Workload API source holds no SVID or bundle yet, or the Workload API withdrew it (PermissionDenied)',
    },
  },
  /** what a server answers about a request itself */
  request: {
    ERR_REQUEST_MEDIA_TYPE: { status: 415, meaning: 'a request body is not of the media type the endpoint takes' },
    ERR_ROUTE_NOT_FOUND: { status: 404, meaning: 'no route for the method and path' },
    ERR_INTERNAL: { status: 500, meaning: 'the server failed (the cause is logged, never sent)' },
    ERR_RATE_LIMITED: { status: 429, meaning: 'too many requests from one client address or attested identity; retry later' },
  },
} as const satisfies Readonly<Record<string, Readonly<Record<`ERR_${string}`, ErrorEntry>>>>

export type ErrorFamily = keyof typeof ERROR_CATALOGUE
/** The codes of one family (without the general ones). */
export type FamilyCode<F extends ErrorFamily> = keyof (typeof ERROR_CATALOGUE)[F] & string
export type ErrorCode = { [F in ErrorFamily]: FamilyCode<F> }[ErrorFamily]
/** The codes an error of family F may carry: its own and the general ones. */
export type CodeOf<F extends ErrorFamily> = FamilyCode<F> | FamilyCode<'general'>

type Flat = { readonly [C in ErrorCode]: ErrorEntry & { readonly family: ErrorFamily } }

const FLAT: Flat = (() => {
  const out: Record<string, ErrorEntry & { family: ErrorFamily }> = {}
  for (const [family, codes] of Object.entries(ERROR_CATALOGUE) as [ErrorFamily, Record<string, ErrorEntry>][]) {
    for (const [code, entry] of Object.entries(codes)) {
      if (code in out) throw new Error(`error catalogue: ${code} is declared in ${out[code]!.family} and ${family}`)
      out[code] = Object.freeze({ ...entry, family })
    }
  }
  return Object.freeze(out) as Flat
})()

/** Every code with what it means (flat view of {@link ERROR_CATALOGUE}). */
export const ERROR_CODES: { readonly [C in ErrorCode]: string } = Object.freeze(
  Object.fromEntries(Object.entries(FLAT).map(([code, e]) => [code, e.meaning])),
) as { readonly [C in ErrorCode]: string }

export function isErrorCode(code: unknown): code is ErrorCode {
  return typeof code === 'string' && Object.hasOwn(FLAT, code)
}

/** The declared HTTP status of a code. */
export function errorStatus(code: ErrorCode): ErrorStatus {
  return FLAT[code].status
}

/** The family that declares a code. */
export function errorFamily(code: ErrorCode): ErrorFamily {
  return FLAT[code].family
}

/** Safe-to-log facts only. */
export type ErrorDetail = Readonly<Record<string, string | number | boolean>>

export interface VerifyErrorOptions {
  readonly cause?: unknown
  readonly detail?: ErrorDetail
}

export class VerifyError<C extends ErrorCode = ErrorCode> extends Error {
  /** the family whose codes this class accepts; undefined: any code */
  static readonly family: ErrorFamily | undefined = undefined

  readonly code: C
  readonly detail: ErrorDetail

  constructor(code: C, message: string, options: VerifyErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    const family = (new.target as typeof VerifyError).family
    if (!isErrorCode(code)) throw new TypeError(`${new.target.name}: ${String(code)} is not a vouch error code`)
    if (family !== undefined && FLAT[code].family !== family && FLAT[code].family !== 'general') {
      throw new TypeError(`${new.target.name}: ${code} is not a code of the ${family} family`)
    }
    this.name = new.target.name
    this.code = code
    this.detail = Object.freeze({ ...options.detail })
  }

  /** `{ code, message }`, the shape servers and the CLI print. */
  toJSON(): { code: C; message: string } {
    return { code: this.code, message: this.message }
  }
}

// Families: `instanceof` selects a family, `switch (err.code)` a case; each takes only its codes.
export class EncodingError extends VerifyError<CodeOf<'encoding'>> {
  static override readonly family = 'encoding'
}
export class DerError extends VerifyError<CodeOf<'der'>> {
  static override readonly family = 'der'
}
export class X509Error extends VerifyError<CodeOf<'x509'>> {
  static override readonly family = 'x509'
}
export class Tpm2Error extends VerifyError<CodeOf<'tpm2'>> {
  static override readonly family = 'tpm2'
}
export class QuoteError extends VerifyError<CodeOf<'quote'>> {
  static override readonly family = 'quote'
}
export class CredentialError extends VerifyError<CodeOf<'credential'>> {
  static override readonly family = 'credential'
}
export class EkError extends VerifyError<CodeOf<'ek'>> {
  static override readonly family = 'ek'
}
export class DevIdError extends VerifyError<CodeOf<'devid'>> {
  static override readonly family = 'devid'
}
export class AttestationError extends VerifyError<CodeOf<'attestation'>> {
  static override readonly family = 'attestation'
}
export class WorkloadApiError extends VerifyError<CodeOf<'workloadApi'>> {
  static override readonly family = 'workloadApi'
}
export class PolicyError extends VerifyError<CodeOf<'policy'>> {
  static override readonly family = 'policy'
}
export class SpiffeError extends VerifyError<CodeOf<'spiffe'>> {
  static override readonly family = 'spiffe'
}
export class EventLogError extends VerifyError<CodeOf<'eventlog'>> {
  static override readonly family = 'eventlog'
}
export class WorkloadError extends VerifyError<CodeOf<'workload'>> {
  static override readonly family = 'workload'
}
export function isVerifyError(e: unknown): e is VerifyError {
  return e instanceof VerifyError
}
