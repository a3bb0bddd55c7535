/**
 * The agent attestation policy document (the seed's format, issue 3 "Policy"):
 *
 *   section: AgentAttestation
 *   schema: v1
 *   spec:
 *     policies:
 *     - name: <policy name>
 *       spiffeIDTemplate: /agents/<path>/{{<attribute key>}}   # optional; default: the first attestor's
 *       requiredAttestors:
 *       - type: <a registered attestor type>
 *         config: { <the attestor's keys>, tolerate: [name], boot: {...} }
 *
 * All requiredAttestors of one policy must pass (AND); any one policy may authorize (OR). What an
 * attestor's `config` holds is the attestor's (core/attestors/<type>/config.ts); this layer knows
 * attestors only through a registry (core/attestor/registry.ts).
 */
import type { AttestorConfig } from '../attestor/config.ts'
import type { Certificate } from '../x509/certificate.ts'

export type { AttestorType } from './attribute-keys.ts'
export type { AttestorConfig, EkTrustConfig, ProfileTolerance } from '../attestor/config.ts'
export type { BootPolicy, PcrBankName } from '../attestor/boot-policy.ts'

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
export type { AttestorType as AttestorTypeName } from './attribute-keys.ts'
