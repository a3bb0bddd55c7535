// vouch/attestation: the attestation verifier (start: evidence -> challenge; answer: proofs ->
// verdict) with its attestors (tpm_devid, tpm_ek, and any registered with createAttestorRegistry),
// its policy documents, its session store interface and its caches.
export {
  createAttestationVerifier,
  DEFAULT_SESSION_TTL_MS,
  type AttestationVerifier,
  type AttestationVerifierOptions,
  type StartRequest,
  type StartResult,
  type AnswerOptions,
  type StartOptions,
  type SealedSessionsOptions,
  type Verdict,
} from '../attestation/verifier.ts'
export { createAttestationCaches, type AttestationCaches, type AttestationCacheOptions } from '../attestation/caches.ts'
export { ATTESTOR_TYPES, ATTRIBUTE_KEYS, DEFAULT_SPIFFE_ID_TEMPLATES, type AttestorType } from '../policy/attribute-keys.ts'
export type { Selector } from '../attestor/attributes.ts'
export { AttestationFailure, CheckLog, type AgentIdentity, type Check, type ToleranceUse } from '../attestor/checks.ts'
export {
  EVIDENCE_LIMITS,
  type TpmDevidEvidence,
  type TpmEkEvidence,
  type TpmDevidAnswer,
  type TpmEkAnswer,
} from '../attestation/evidence.ts'
export {
  validatePolicyDocument,
  parsePolicyDocument,
  POLICY_LIMITS,
  PROFILE_TOLERANCES_BY_TYPE,
  type PolicyValidation,
  type PolicyValidationOptions,
} from '../policy/validate.ts'
export type {
  PolicySet,
  AttestationPolicy,
  AttestorConfig,
  EkTrustConfig,
  PolicyIssue,
  ProfileTolerance,
  BootPolicy,
  PcrBankName,
} from '../policy/types.ts'
export {
  createMemorySessionStore,
  type SessionStore,
  type StoredSession,
  type SessionValue,
  type MemorySessionStore,
  type MemorySessionStoreOptions,
} from '../session/store.ts'
// sealed sessions: the keyring their state is sealed under, and the use-once store that makes them single-use
export {
  makeSessionKeyring,
  SESSION_KEY_BYTES,
  MAX_SEALED_TOKEN_CHARS,
  type SessionKey,
  type SessionKeyring,
} from '../session/sealed.ts'
export { createMemoryUseOnceStore, type UseOnceStore, type UseOnceClaim, type MemoryUseOnceStoreOptions } from '../session/use-once.ts'
// the key an agent asks to have certified: which keys qualify, and its proof of possession
export { checkSvidKey, verifySvidKeyProof, makeSvidKeyProofMessage } from '../attestation/svid-key.ts'
export {
  checkDevIdCertificateProfile,
  evaluateDevIdCertificateProfile,
  describeDevIdCertificate,
  DEVID_EKU_PURPOSES,
  DEVID_PROFILE_TOLERANCES,
  type DevIdProfileOptions,
  type DevIdProfileResult,
  type DevIdProfileTolerance,
} from '../devid/index.ts'
export type { TpmDevidAttestorConfig } from '../attestors/tpm-devid/config.ts'
export type { TpmEkAttestorConfig } from '../attestors/tpm-ek/config.ts'
// attestors as modules: the interface, registries, and what an attestor is built from
export type { AnyAttestor, Attestor, AttestorConfigBody, AttestorFacts, CheckedEvidence } from '../attestor/attestor.ts'
export { createAttestorRegistry, type AttestorRegistry } from '../attestor/registry.ts'
export { ATTESTORS, BUILTIN_ATTESTORS, type BuiltinAttestorType } from '../attestors/registry.ts'
export {
  CONFIG_LIMITS,
  expectString,
  joinPath,
  parseCertificateBundle,
  parseEkTrustConfig,
  splitAnchors,
  type ConfigContext,
  type ConfigObject,
  type ToleranceGroup,
} from '../attestor/config.ts'
export { decoded } from '../attestor/decoded.ts'
export { decodeBounded } from '../attestor/decode.ts'
export { bootSelection, BOOT_ANSWER_LIMITS, type BootSelection, type BootAnswer } from '../attestation/boot.ts'
export { bootAttributeKeys, validateBootPolicy } from '../attestor/boot-policy.ts'
export * as wire from '../attestation/wire.ts'
