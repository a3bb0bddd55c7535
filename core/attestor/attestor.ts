/**
 * The attestor interface: everything vouch knows of one attestor type, so that a new type is one
 * folder under core/attestors/ plus its line in the registry (core/attestors/registry.ts), and the
 * policy layer and the verifier stay generic.
 *
 * Policy side (core/policy/validate.ts): the type name, the config keys it reads and its parser,
 * the seed's message when `config` is absent, the profile tolerances `config.tolerate` may name,
 * whether a `boot` block is accepted, the attribute keys a SPIFFE ID template may use and the
 * default template.
 *
 * Verifier side (core/attestation/verifier.ts): it decodes and checks its evidence (producing
 * attributes, selectors and the facts its challenge needs), makes its challenge and the session
 * state that goes with it, and decodes and checks the answer. Checks are recorded on the CheckLog;
 * failures are AttestationFailures with stable codes.
 */
import type { Platform } from '../platform.ts'
import type { Selector } from './attributes.ts'
import type { BootPolicy } from './boot-policy.ts'
import type { CheckLog, ToleranceUse } from './checks.ts'
import type { AttestorConfig, ConfigContext, ConfigObject, ToleranceGroup } from './config.ts'

/** What every attestor's evidence checks produce. */
export interface AttestorFacts {
  readonly attributes: Record<string, string>
  readonly selectors: Selector[]
  readonly tolerancesUsed: readonly ToleranceUse[]
  /** recorded in the verdict (TPM2_Certify extraData, hex, for an attestor that certifies a key) */
  readonly certifyExtraData?: string
}

/** The facts plus what the shared facets (measured boot) need: the attested AK and the boot policy. */
export interface CheckedEvidence<F extends AttestorFacts = AttestorFacts> {
  readonly facts: F
  /** TPMT_PUBLIC of the attested AK, when the attestor has one (the boot quote's signer) */
  readonly akPub?: Uint8Array
  readonly boot?: BootPolicy
}

/** The attestor-specific part of a parsed config: what `parseConfig` returns (type, tolerate and boot are added around it). */
export type AttestorConfigBody<C extends AttestorConfig> = Omit<C, 'type' | 'tolerate' | 'boot'>

export interface Attestor<
  T extends string = string,
  C extends AttestorConfig = AttestorConfig,
  F extends AttestorFacts = AttestorFacts,
  S extends Readonly<Record<string, string>> = Readonly<Record<string, string>>,
> {
  /** the name policies and agents use (`requiredAttestors[].type`, `providedMethods`, evidence keys); `[a-z][a-z0-9_]*` */
  readonly type: T

  // --- policy side
  /** the keys of `config` it reads, in the order an unknown-key message lists them (`tolerate` and `boot` are added when they apply) */
  readonly configKeys: readonly string[]
  /** the issue when `config` is absent or null (the seed's message where it names one) */
  readonly configRequired: string
  /**
   * parses `config` (an object whose keys were checked): problems go to `c.add(path, message)`;
   * returns undefined when it found one
   */
  parseConfig(c: ConfigContext, path: string, config: ConfigObject): AttestorConfigBody<C> | undefined
  /** the profile tolerances `config.tolerate` may name; none: the key is not accepted */
  readonly tolerances: readonly ToleranceGroup[]
  /** accepts a `boot` block (measured boot): its evidence must yield an attested AK to quote with */
  readonly boot: boolean
  /** the attributes its evidence checks can produce (`<type>.` keys): the placeholders a SPIFFE ID template may use */
  readonly attributeKeys: readonly string[]
  /** SPIFFE ID path template of a policy whose first attestor this is and that names none */
  readonly defaultSpiffeIdTemplate: string
  /** the selector type of its selectors (SPIRE's plugin name), also that of its `boot:` selectors */
  readonly selectorType: string
  /**
   * a problem with `value` as a selector of `selectorType` that a registration entry names (the
   * server's parent selectors), or undefined when it is a selector this attestor produces
   */
  checkSelectorValue(value: string): string | undefined
  /** the attribute that identifies the attested machine (what a server rate-limits per identity) */
  readonly identityAttribute: string

  // --- verifier side
  /** check name of the challenge and what it says on success */
  readonly challengeDetail: string
  /** decode (`<type>.evidence`) and check the evidence against the attestor's policy config */
  checkEvidence(log: CheckLog, evidence: unknown, config: C, platform: Platform): Promise<CheckedEvidence<F>>
  /** the challenge sent to the agent and the session state kept (JSON-safe, secrets base64) */
  makeChallenge(facts: F, platform: Platform): Promise<{ challenge: Record<string, unknown>; session: S }>
  /** decode (`<type>.answer`) and check the answer against the session */
  checkAnswer(log: CheckLog, session: S, answer: unknown, binding: Uint8Array | undefined, platform: Platform): Promise<void>
}

/** Any attestor, whatever its config, facts and session types (what a registry holds). */
// biome-ignore lint/suspicious/noExplicitAny: the registry erases each attestor's own types; the verifier hands each its own values back
export type AnyAttestor = Attestor<string, any, any, any>
