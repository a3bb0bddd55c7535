// vouch: verification of hardware-rooted machine identity on every JavaScript runtime.
// The root entry holds the verbs an embedder reaches for, their results and the errors; each
// subsystem has its own subpath with the rest (vouch/x509, vouch/tpm2, vouch/credential,
// vouch/svid, vouch/attestation, vouch/bytes) and each runtime its platform (vouch/node, vouch/bun,
// vouch/deno, vouch/edge). Web platform APIs only; importing it loads no other package.

// errors
export {
  VerifyError,
  isVerifyError,
  ERROR_CODES,
  EncodingError,
  DerError,
  X509Error,
  Tpm2Error,
  QuoteError,
  CredentialError,
  AttestationError,
  PolicyError,
  SpiffeError,
  EkError,
  DevIdError,
  EventLogError,
  WorkloadError,
  WorkloadApiError,
  ERROR_CATALOGUE,
  errorStatus,
  type ErrorCode,
  type ErrorDetail,
} from './errors.ts'

// the host: crypto, clock, kernels
export { defaultPlatform, withPlatform, type Platform } from './platform.ts'
export { createWebCryptoProvider, type WebCryptoProviderOptions } from './crypto/webcrypto.ts'
export type { CryptoProvider, PublicKey } from './crypto/provider.ts'

// X.509 chains, TPM quotes and certifications, EKs
export { verifyChain, type VerifyChainInput, type VerifyChainOptions, type VerifiedChain } from './x509/verify.ts'
export { parseCertificate, type Certificate } from './x509/certificate.ts'
export { verifyQuote, type QuoteInput, type QuoteResult } from './quote/verify.ts'
export { verifyCertify, type CertifyResult } from './tpm2/certify.ts'
export { ekPublicHash } from './ek/public-hash.ts'

// credential activation
export { makeCredential, type MakeCredentialInput, type MadeCredential } from './credential/make-credential.ts'
export { checkActivatedSecret } from './credential/activation.ts'

// SPIFFE: IDs, SVIDs, bundles
export { parseSpiffeId, SpiffeId, parseTrustDomain } from './svid/spiffe-id.ts'
export { TrustDomain } from './svid/trust-domain.ts'
export { matchAny, matchId, matchOneOf, matchMemberOf, type SpiffeIdMatcher } from './svid/match.ts'
export { verifyX509Svid, type VerifyX509SvidOptions, type VerifiedX509Svid } from './svid/x509-svid.ts'
export { verifyJwtSvid, type VerifyJwtSvidOptions, type JwtSvid } from './svid/jwt-svid.ts'
export { parseSpiffeBundle, parseBundleDocument, SpiffeBundle } from './svid/spiffe-bundle.ts'
export { BundleSet } from './svid/bundle-set.ts'

// attestation: the verifier, its policies and session store
export {
  createAttestationVerifier,
  type AttestationVerifier,
  type AttestationVerifierOptions,
  type StartRequest,
  type StartResult,
  type Verdict,
} from './attestation/verifier.ts'
export { createAttestationCaches, type AttestationCaches } from './attestation/caches.ts'
export { parsePolicyDocument, validatePolicyDocument } from './policy/validate.ts'
export type { PolicySet } from './policy/types.ts'
export { createMemorySessionStore, type SessionStore } from './session/store.ts'
