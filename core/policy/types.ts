/**
 * The agent attestation policy document (the seed's format, issue 3 "Policy"):
 *
 *   section: AgentAttestation
 *   schema: v1
 *   spec:
 *     policies:
 *     - name: tpm_devid_policy
 *       spiffeIDTemplate: /agents/tpm-devid/{{tpm_devid.certificate.fingerprint}}   # optional
 *       requiredAttestors:
 *       - type: tpm_devid
 *         config: { devIDCACerts: PEM, endorsementCACerts: PEM, allowedEKHashes: [hex], tolerate: [name] }
 *
 * All requiredAttestors of one policy must pass (AND); any one policy may authorize (OR).
 */
import type { AttestorType } from './attribute-keys.ts'
import type { DevIdProfileTolerance } from '../devid/certificate.ts'
import type { EkProfileTolerance } from '../ek/certificate.ts'
import type { Certificate } from '../x509/certificate.ts'

export type { AttestorType } from './attribute-keys.ts'

/**
 * A named relaxation of a certificate profile (core/ek/certificate.ts, core/devid/certificate.ts).
 * Off unless the attestor's `tolerate` lists it; every one used is reported in the verdict.
 */
export type ProfileTolerance = EkProfileTolerance | DevIdProfileTolerance

/** EK trust: by manufacturer CA, by public-key hash, or either when both are set. */
export interface EkTrustConfig {
  /** anchors: the self-issued certificates of endorsementCACerts (all of them when none is self-issued) */
  readonly endorsementAnchors?: readonly Certificate[]
  /** the other certificates of endorsementCACerts, offered as intermediates */
  readonly endorsementIntermediates?: readonly Certificate[]
  /** lowercase hex SHA-256 of the EK SubjectPublicKeyInfo DER */
  readonly allowedEKHashes?: readonly string[]
  /** profile tolerances this attestor accepts (`ek-*` for both types, `devid-*` for tpm_devid); default none */
  readonly tolerate?: readonly ProfileTolerance[]
}

export interface TpmDevidAttestorConfig extends EkTrustConfig {
  readonly type: 'tpm_devid'
  /** anchors: the self-issued certificates of devIDCACerts (all of them when none is self-issued) */
  readonly devIDAnchors: readonly Certificate[]
  /** the other certificates of devIDCACerts, offered as intermediates */
  readonly devIDIntermediates: readonly Certificate[]
}

export interface TpmEkAttestorConfig extends EkTrustConfig {
  readonly type: 'tpm_ek'
}

export type AttestorConfig = TpmDevidAttestorConfig | TpmEkAttestorConfig

export interface AttestationPolicy {
  readonly name: string
  readonly requiredAttestors: readonly AttestorConfig[]
  /** SPIFFE ID path template; default from the first required attestor type */
  readonly spiffeIDTemplate: string
}

export interface PolicySet {
  readonly policies: readonly AttestationPolicy[]
}

/** One validation problem: where (a dotted/indexed path into the document) and what. */
export interface PolicyIssue {
  readonly path: string
  readonly message: string
}

export type { Certificate }
export type AttestorTypeName = AttestorType
