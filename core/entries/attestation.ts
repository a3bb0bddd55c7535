// vouch/attestation: the tpm_devid and tpm_ek attestation verifier (start: evidence -> challenge;
// answer: proofs -> verdict), its policy documents, its session store interface and its caches.
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
export type { Selector } from '../attestation/attributes.ts'
export type { Check, ToleranceUse } from '../attestation/checks.ts'
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
} from '../policy/validate.ts'
export type {
  PolicySet,
  AttestationPolicy,
  AttestorConfig,
  TpmDevidAttestorConfig,
  TpmEkAttestorConfig,
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
export { createMemoryUseOnceStore, type UseOnceStore, type MemoryUseOnceStoreOptions } from '../session/use-once.ts'
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
export type { Attestor, AttestorFacts, CheckedEvidence } from '../attestation/attestor.ts'
export { ATTESTORS } from '../attestation/attestors.ts'
export { bootSelection, BOOT_ANSWER_LIMITS, type BootSelection, type BootAnswer } from '../attestation/boot.ts'
export { validateBootPolicy } from '../policy/validate-boot.ts'
export * as wire from '../attestation/wire.ts'
