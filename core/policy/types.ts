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
import type { QuirkName } from '../eventlog/quirks.ts'
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
  /** measured boot: a quote and the event log are demanded when set (core/attestation/boot.ts) */
  readonly boot?: BootPolicy
}

/** The PCR banks a boot policy may name, lowercase as in `pcrs:`. */
export type PcrBankName = 'sha1' | 'sha256' | 'sha384' | 'sha512'

/**
 * `config.boot` of a TPM attestor. Hex values are lowercase. Every list is an allow list unless
 * its name says otherwise; an absent key checks nothing.
 */
export interface BootPolicy {
  /** `required`: the verified log must show the SecureBoot variable set to 1 */
  readonly secureBoot: 'required' | 'optional'
  /** allowed values per bank and PCR index */
  readonly pcrs: Readonly<Partial<Record<PcrBankName, Readonly<Record<number, readonly string[]>>>>>
  /** SHA-256 fingerprints of the certificates the db may hold (allowed) and may not hold (forbidden) */
  readonly db: { readonly allowed?: readonly string[]; readonly forbidden?: readonly string[] }
  /** SHA-256 entries the dbx must hold (revocations that must be applied) */
  readonly dbx: { readonly required?: readonly string[] }
  /** allowed SHA-256 (Authenticode) digests of boot applications */
  readonly bootApplications?: readonly string[]
  /** a regular expression every measured kernel command line must match (whole line) */
  readonly kernelCommandLine?: string
  /** event log quirks tolerated (core/eventlog/quirks.ts) */
  readonly quirks: readonly QuirkName[]
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
