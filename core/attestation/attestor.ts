/**
 * The attestor interface: what the verifier needs of one attestor type, so that a new type is one
 * module registered in attestors.ts, not a branch in verifier.ts. An attestor decodes and checks its
 * evidence (producing attributes, selectors and the facts its challenge needs), makes its challenge
 * and the session state that goes with it, and decodes and checks the answer. Checks are recorded
 * on the CheckLog; failures are AttestationFailures with stable codes.
 */
import type { Platform } from '../platform.ts'
import type { AttestorConfig, BootPolicy } from '../policy/types.ts'
import type { AttestorType } from '../policy/attribute-keys.ts'
import type { Selector } from './attributes.ts'
import type { CheckLog, ToleranceUse } from './checks.ts'

/** What every attestor's evidence checks produce. */
export interface AttestorFacts {
  readonly attributes: Record<string, string>
  readonly selectors: Selector[]
  readonly tolerancesUsed: readonly ToleranceUse[]
  /** recorded in the verdict (tpm_devid: TPM2_Certify extraData, hex) */
  readonly certifyExtraData?: string
}

/** The facts plus what the shared facets (measured boot) need: the attested AK and the boot policy. */
export interface CheckedEvidence<F extends AttestorFacts = AttestorFacts> {
  readonly facts: F
  /** TPMT_PUBLIC of the attested AK, when the attestor has one (the boot quote's signer) */
  readonly akPub?: Uint8Array
  readonly boot?: BootPolicy
}

export interface Attestor<
  F extends AttestorFacts = AttestorFacts,
  S extends Readonly<Record<string, string>> = Readonly<Record<string, string>>,
> {
  readonly type: AttestorType
  /** check name of the challenge and what it says on success */
  readonly challengeDetail: string
  /** decode (`<type>.evidence`) and check the evidence against the attestor's policy config */
  checkEvidence(log: CheckLog, evidence: unknown, config: AttestorConfig, platform: Platform): Promise<CheckedEvidence<F>>
  /** the challenge sent to the agent and the session state kept (JSON-safe, secrets base64) */
  makeChallenge(facts: F, platform: Platform): Promise<{ challenge: Record<string, unknown>; session: S }>
  /** decode (`<type>.answer`) and check the answer against the session */
  checkAnswer(log: CheckLog, session: S, answer: unknown, binding: Uint8Array | undefined, platform: Platform): Promise<void>
}
