// vouch's public API: runtime-agnostic verification of TPM 2.0 evidence, tpm_devid / tpm_ek
// attestation and SPIFFE documents. Web platform APIs only. Subsystems are also importable one by
// one (core/x509, core/tpm2, core/ek, core/der) for smaller bundles.

export * from './errors.ts'
export { defaultPlatform, withPlatform, type Platform } from './platform.ts'
export type { CryptoProvider, PublicKey, RsaPublicKey, EcPublicKey, HashAlg, NamedCurve, SignatureScheme } from './crypto/provider.ts'
export { createWebCryptoProvider, type WebCryptoProviderOptions } from './crypto/webcrypto.ts'
export type { Kernels } from './kernels/types.ts'
export { jsKernels } from './kernels/js.ts'
export { toHex, fromHex, toBase64, fromBase64, toBase64Url, fromBase64Url } from './bytes/encoding.ts'
export { parsePemBlocks, parsePemCertificates, toPem, type PemBlock } from './bytes/pem.ts'
export { timingSafeEqual } from './bytes/equal.ts'

// TPM 2.0 structures, certify and quotes
export * from './tpm2/index.ts'
export { verifyQuote, type QuoteInput, type QuoteResult } from './quote/verify.ts'
export { computePcrDigest, splitPcrValues, checkPcrValues } from './quote/pcr-digest.ts'

// credential activation (MakeCredential)
export { makeCredential } from './credential/make-credential.ts'
export { checkActivatedSecret } from './credential/activation.ts'
export { kdfa, kdfe } from './credential/kdf.ts'
export { credentialEkFromPublicKey, credentialEkFromTpmtPublic, type CredentialEk } from './credential/ek.ts'
export { encodeCredentialFile, parseCredentialFile } from './credential/credential-file.ts'

// X.509 and EK certificates
export * from './x509/index.ts'
export * from './ek/index.ts'

// attestation: tpm_devid and tpm_ek, policies, sessions
export { createAttestationCaches, type AttestationCacheOptions } from './attestation/caches.ts'
export {
  createAttestationVerifier,
  DEFAULT_SESSION_TTL_MS,
  type AttestationVerifier,
  type AttestationVerifierOptions,
  type Verdict,
  type StartRequest,
  type StartResult,
  type AnswerOptions,
} from './attestation/verifier.ts'
export { validatePolicyDocument, parsePolicyDocument, POLICY_LIMITS } from './policy/validate.ts'
export { createMemorySessionStore, type SessionStore, type MemorySessionStore, type SessionValue } from './session/store.ts'

// SPIFFE
export { parseSpiffeId, parseTrustDomain, type SpiffeId } from './svid/spiffe-id.ts'
export { TrustDomain } from './svid/trust-domain.ts'
export { matchAny, matchId, matchOneOf, matchMemberOf, type SpiffeIdMatcher } from './svid/match.ts'
export { verifyX509Svid, type VerifyX509SvidOptions } from './svid/x509-svid.ts'
export { verifyJwtSvid, type VerifyJwtSvidOptions } from './svid/jwt-svid.ts'
export { parseSpiffeBundle, parseBundleDocument, makeSpiffeBundleJson, SpiffeBundle } from './svid/spiffe-bundle.ts'
export { parseX509Bundle } from './svid/x509-bundle.ts'
export { parseJwtBundle } from './svid/jwt-bundle.ts'
export { BundleSet } from './svid/bundle-set.ts'
export { fetchBundle, BundleEndpointClient, type BundleEndpointProfile, type BundleFetcher } from './svid/federation.ts'
