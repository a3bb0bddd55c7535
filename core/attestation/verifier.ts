/**
 * The attestation verifier: a state machine over an injected session store, runtime-agnostic.
 *
 *   start({ providedMethods, evidence })   -> { sessionId, expiresAt, challenges }
 *   answer(sessionId, answers, { binding }) -> Verdict
 *
 * Policies: all requiredAttestors of one policy must pass (AND); any policy may authorize (OR).
 * At start every policy whose attestor types the agent provides is tried in order; the first whose
 * static checks all pass is the one the session is for (its proofs do not depend on the policy).
 * No such policy: PolicyError ERR_POLICY_DENIED (NO_POLICY_AUTHORIZES); otherwise the
 * first candidate's failure. Every failure is an AttestationFailure (an AttestationError) carrying
 * the seed's message, a stable code and the readable check trail.
 *
 * Sessions: random IDs (192 bits), expire `sessionTtlMs` (default 5 minutes) after the challenge,
 * and are removed the moment they are answered, pass or fail. The nonce and activation secret live
 * only in the session store, never in an error or a verdict.
 */
import { PolicyError, VerifyError } from '../errors.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import type { AttestationPolicy, PolicySet } from '../policy/types.ts'
import { createMemorySessionStore, type SessionStore, type SessionValue } from '../session/store.ts'
import { isWellFormedSessionId, newSessionId } from '../session/id.ts'
import { openSession, sealSession, type SessionKeyring } from '../session/sealed.ts'
import type { UseOnceClaim, UseOnceStore } from '../session/use-once.ts'
import type { CheckedEvidence } from '../attestor/attestor.ts'
import type { Selector } from '../attestor/attributes.ts'
import type { BootPolicy } from '../attestor/boot-policy.ts'
import { type AgentIdentity, AttestationFailure, CheckLog, type Check, type ToleranceUse } from '../attestor/checks.ts'
import type { AttestorConfig } from '../attestor/config.ts'
import type { AttestorRegistry } from '../attestor/registry.ts'
import { BUILTIN_ATTESTORS } from '../attestors/registry.ts'
import { type BootSession, checkBootAnswer, decodeBootAnswer, makeBootChallenge } from './boot.ts'
import { ANSWERS_NOT_OBJECT, EVIDENCE_NOT_OBJECT, NO_POLICY_AUTHORIZES, SESSION_EXPIRED, UNKNOWN_SESSION } from '../messages.ts'
import { renderSpiffeIdTemplate } from '../policy/spiffe-id-template.ts'

export const DEFAULT_SESSION_TTL_MS = 5 * 60 * 1000

export interface AttestationVerifierOptions {
  readonly policies: PolicySet
  /**
   * the attestors the policies name, by type (default: vouch's own, BUILTIN_ATTESTORS): the
   * registry the policy document was validated with
   */
  readonly attestors?: AttestorRegistry
  /** default: an in-memory store (capacity 10,000) on the platform clock */
  readonly sessions?: SessionStore
  readonly platform?: Platform
  /** when set, verdicts carry `spiffeId` = spiffe://<trustDomain><path> */
  readonly trustDomain?: string
  readonly sessionTtlMs?: number
  /**
   * Sealed sessions (core/session/sealed.ts): the session state is sealed into the session ID the
   * agent carries back, and only answers write (a use-once record). Replaces `sessions`.
   */
  readonly sealedSessions?: SealedSessionsOptions
}

export interface SealedSessionsOptions {
  readonly keyring: SessionKeyring
  readonly useOnce: UseOnceStore
}

export interface StartRequest {
  readonly providedMethods: readonly string[]
  /** per attestor type, the evidence object (docs/protocol.md) */
  readonly evidence: Readonly<Record<string, unknown>>
}

export interface StartResult {
  readonly sessionId: string
  /** ms since the epoch */
  readonly expiresAt: number
  /** per attestor type, the challenge object (docs/protocol.md) */
  readonly challenges: Readonly<Record<string, unknown>>
}

/** Options of {@link AttestationVerifier.start}. */
export interface StartOptions {
  /**
   * called once the evidence checks passed and before the challenge is made (MakeCredential) and the
   * session stored, with who the agent is; throw (a VerifyError such as ERR_RATE_LIMITED) to refuse
   * the start. A server rate-limits replayed evidence per identity here.
   */
  readonly admit?: (agent: Readonly<AgentIdentity>) => void | Promise<void>
}

export interface AnswerOptions {
  /** SHA-256 of the SubjectPublicKeyInfo DER of the key the agent wants certified (32 bytes) */
  readonly binding?: Uint8Array
  /**
   * Proof that the agent holds the key behind `binding` (a signature check, docs/protocol.md "SVID
   * key"). Run once the session is taken and found live, before the answers' proofs: an unknown
   * or expired session never costs a signature check. Resolves with the check's detail; a
   * VerifyError fails the answer with its code (check `svid_key.possession`).
   */
  readonly proveKey?: () => Promise<string>
  /**
   * Sealed sessions only (ignored with a session store): how the answer's use-once record is made.
   * Without it, the verifier claims the record (useOnce.claim) before any check. With it, a session
   * the use-once store already knows as used (UseOnceStore.seen), or whose answer this verifier
   * is checking already, is refused before any check; the checks then run, and `settle` is called
   * once with the claim and the verdict (undefined when a check failed). It must make the claim
   * durable, atomically with whatever it records for the verdict, and resolve true when this answer
   * used the session, false when it had been used already: the answer then fails as an unknown
   * session (ERR_SESSION_UNKNOWN), whatever the checks found. The verdict, or the check's failure,
   * is released only once settle has resolved; a settle that throws fails the answer with its
   * error (ERR_SESSION_EXPIRED when the claim was committed past the session's expiry plus the
   * use-once grace, UseOnceStore.claim: a slow settle never records a session twice). A server uses it to commit the claim and the agent's record in one transaction (one
   * durable commit per answer, not two).
   */
  readonly settle?: (claim: UseOnceClaim, verdict: Verdict | undefined) => Promise<boolean>
}

export interface Verdict {
  readonly ok: true
  readonly attestorTypes: readonly string[]
  /** the policy that authorized the agent */
  readonly policy: string
  readonly attributes: Readonly<Record<string, string>>
  readonly selectors: readonly Selector[]
  readonly spiffeIdPath: string
  readonly spiffeId?: string
  /** hex extraData of the TPM2_Certify (tpm_devid), recorded, not required empty */
  readonly certifyExtraData?: string
  /** the profile tolerances (policy `tolerate`) this attestation needed, each with the check that applied it; empty when none */
  readonly tolerancesUsed: readonly ToleranceUse[]
  readonly checks: readonly Check[]
}

export interface AttestationVerifier {
  start(request: StartRequest, options?: StartOptions): Promise<StartResult>
  answer(sessionId: string, answers: Readonly<Record<string, unknown>>, options?: AnswerOptions): Promise<Verdict>
}

interface SessionRecord {
  readonly [k: string]: SessionValue
  /** 2: attestor sessions in `attestors` (a v1 record, from before, is an unknown session) */
  readonly v: 2
  readonly policy: string
  readonly attestorTypes: string[]
  readonly attributes: Record<string, string>
  readonly selectors: { type: string; value: string }[]
  readonly spiffeIdPath: string
  readonly certifyExtraData: string | null
  readonly tolerancesUsed: { check: string; tolerance: string }[]
  readonly checks: { name: string; ok: boolean; detail: string }[]
  /** per attestor type in the session: the state its answer is checked against (attestors.ts) */
  readonly attestors: { readonly [type: string]: Readonly<Record<string, string>> }
  /** who the agent is (fingerprints, hashes), for the answer's failures */
  readonly agent: Record<string, string>
  /** per attestor type with a `boot` policy: its quote challenge (absent when no attestor has one) */
  readonly boot: { readonly [type: string]: BootSession } | null
  /**
   * the boot policies and the SPIFFE ID template the session started under: an answer is judged by
   * the policy its challenge was made for, never by one a reload put in place since
   */
  readonly bootPolicies: { readonly [type: string]: SessionValue } | null
  readonly template: string
}

/** One attestor's checked evidence: its facts, and the attested AK and boot policy for the quote challenge. */
type Facts = CheckedEvidence & { type: string }

const hasBoot = (policy: AttestationPolicy) => policy.requiredAttestors.some((a) => a.boot !== undefined)

function malformedRequest(message: string): AttestationFailure {
  return new AttestationFailure('ERR_EVIDENCE_MALFORMED', message, [])
}

function providedTypes(request: StartRequest, attestors: AttestorRegistry): string[] {
  if (typeof request !== 'object' || request === null) throw malformedRequest('attestation request: expected an object')
  const pm = request.providedMethods
  if (!Array.isArray(pm) || pm.length === 0 || pm.length > 8 || !pm.every((m) => typeof m === 'string')) {
    throw malformedRequest('providedMethods: expected 1 to 8 attestor type names')
  }
  if (typeof request.evidence !== 'object' || request.evidence === null || Array.isArray(request.evidence)) {
    throw malformedRequest(EVIDENCE_NOT_OBJECT)
  }
  return [...new Set(pm.filter((m) => attestors.has(m)))]
}

const unknownSession = () => new AttestationFailure('ERR_SESSION_UNKNOWN', UNKNOWN_SESSION, [])

async function takeStored(sessionId: string, sessions: SessionStore) {
  if (!isWellFormedSessionId(sessionId)) throw unknownSession()
  // taken (removed) first: whatever happens next, this session can never be answered again
  const stored = await sessions.take(sessionId)
  if (stored === undefined) throw unknownSession()
  return stored
}

/**
 * Opens a sealed session: bad token or unknown key -> UNKNOWN_SESSION; a retired key ->
 * ERR_SESSION_KEY_RETIRED. Then its use-once record: claimed here (before the expiry check, so an
 * expired token is burned too; already used -> UNKNOWN_SESSION; past expiry + the store's grace ->
 * ERR_SESSION_EXPIRED from the store, which records nothing), or, when the caller settles the
 * answer itself, only looked up in the store's local hint. Expiry is left to the caller (its
 * failure carries the trail).
 */
async function openSealed(sessionId: string, sealed: SealedSessionsOptions, platform: Platform, claimNow: boolean) {
  let opened: Awaited<ReturnType<typeof openSession<SessionRecord>>>
  try {
    opened = await openSession<SessionRecord>(sessionId, sealed.keyring, platform)
  } catch (e) {
    if (e instanceof VerifyError) throw new AttestationFailure(e.code, e.message, [], { detail: { ...e.detail } })
    throw e
  }
  if (claimNow ? !(await sealed.useOnce.claim(opened.useOnceId, opened.expiresAt)) : sealed.useOnce.seen?.(opened.useOnceId) === true)
    throw unknownSession()
  return opened
}

export function createAttestationVerifier(options: AttestationVerifierOptions): AttestationVerifier {
  const platform = options.platform ?? defaultPlatform()
  const sealed = options.sealedSessions
  if (sealed && options.sessions) throw new TypeError('createAttestationVerifier: give sessions or sealedSessions, not both')
  const sessions = sealed ? undefined : (options.sessions ?? createMemorySessionStore({ now: () => platform.now() }))
  const ttl = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS
  const policies = options.policies.policies
  const attestors = options.attestors ?? BUILTIN_ATTESTORS
  for (const policy of policies) {
    for (const a of policy.requiredAttestors) {
      if (!attestors.has(a.type))
        throw new TypeError(`createAttestationVerifier: policy ${policy.name} requires attestor type ${a.type}, which is not registered`)
    }
  }

  async function checkAttestor(log: CheckLog, config: AttestorConfig, evidence: Readonly<Record<string, unknown>>): Promise<Facts> {
    const checked = await attestors.get(config.type)!.checkEvidence(log, evidence[config.type], config, platform)
    return { type: config.type, ...checked }
  }

  async function checkPolicy(policy: AttestationPolicy, evidence: Readonly<Record<string, unknown>>) {
    const log = new CheckLog()
    const facts: Facts[] = []
    for (const config of policy.requiredAttestors) facts.push(await checkAttestor(log, config, evidence))
    const attributes: Record<string, string> =
      facts.length === 1 ? facts[0]!.facts.attributes : Object.assign({}, ...facts.map((f) => f.facts.attributes))
    const selectors = facts.flatMap((f) => f.facts.selectors)
    // with a boot policy the template may name boot attributes: it is rendered once the quote is checked
    if (hasBoot(policy)) return { log, facts, attributes, selectors, spiffeIdPath: '' }
    const spiffeIdPath = log.runSync(
      'spiffe_id',
      () => renderSpiffeIdTemplate(policy.spiffeIDTemplate, attributes),
      undefined,
      (p) => p,
    )
    return { log, facts, attributes, selectors, spiffeIdPath }
  }

  /** The boot quotes of a session whose policy has `boot` blocks, and the policy's template. */
  async function checkBootAnswers(log: CheckLog, record: SessionRecord, answers: Readonly<Record<string, unknown>>) {
    const attributes: Record<string, string> = {}
    const selectors: Selector[] = []
    for (const type of record.attestorTypes) {
      const session = record.boot?.[type]
      const bootPolicy = record.bootPolicies?.[type] as unknown as BootPolicy | undefined
      if (!session) continue
      if (!bootPolicy)
        throw log.fail(`${type}.boot`, 'ERR_BOOT_QUOTE_MISSING', `${type}: the session holds a quote challenge but no boot policy`)
      const a = answers[type] as Record<string, unknown> | null | undefined
      const quote = log.runSync(
        `${type}.boot.answer`,
        () => decodeBootAnswer(a?.Quote, `${type} answer.Quote`, platform),
        undefined,
        (q) => (q ? 'well-formed, within size bounds' : 'absent'),
      )
      const facts = await checkBootAnswer(log, type, session, bootPolicy, quote, platform, attestors.get(type)!.selectorType)
      Object.assign(attributes, facts.attributes)
      selectors.push(...facts.selectors)
    }
    return { attributes, selectors, template: record.template }
  }

  /** An answer's checks against its session (taken, or opened), in order; the verdict, or the first failure. */
  async function checkAnswers(
    stored: { readonly value: unknown; readonly expiresAt: number },
    answers: Readonly<Record<string, unknown>>,
    answerOptions: AnswerOptions,
  ): Promise<Verdict> {
    const binding = answerOptions.binding
    const record = stored.value as SessionRecord
    // a session started under another registry (a store or keyring shared with a verifier that
    // has other attestors) is unknown here: an attestor's answer is never skipped for want of it
    if (
      record.v !== 2 ||
      typeof record.attestors !== 'object' ||
      record.attestors === null ||
      !record.attestorTypes.every((t) => attestors.has(t)) ||
      !Object.keys(record.attestors).every((t) => attestors.has(t))
    ) {
      throw unknownSession()
    }
    const log = new CheckLog()
    log.checks.push(...record.checks)
    if (record.agent) log.identify(record.agent)
    if (platform.now() > stored.expiresAt) {
      throw log.fail('session', 'ERR_SESSION_EXPIRED', SESSION_EXPIRED, `expired at ${new Date(stored.expiresAt).toISOString()}`)
    }
    log.pass('session', 'live, answered once')
    if (answerOptions.proveKey) await log.run('svid_key.possession', answerOptions.proveKey, undefined, (detail) => detail)
    if (typeof answers !== 'object' || answers === null || Array.isArray(answers)) {
      throw log.fail('answers', 'ERR_EVIDENCE_MALFORMED', ANSWERS_NOT_OBJECT)
    }
    // in registry order, whatever the order of the policy's attestors
    for (const attestor of attestors.attestors) {
      const session = record.attestors[attestor.type]
      if (session) await attestor.checkAnswer(log, session, answers[attestor.type], binding, platform)
    }
    let { attributes, selectors, spiffeIdPath } = record
    if (record.boot) {
      const checked = await checkBootAnswers(log, record, answers)
      attributes = { ...attributes, ...checked.attributes }
      selectors = [...selectors, ...checked.selectors]
      spiffeIdPath = log.runSync(
        'spiffe_id',
        () => renderSpiffeIdTemplate(checked.template, attributes),
        undefined,
        (p) => p,
      )
    }
    return {
      ok: true,
      attestorTypes: record.attestorTypes,
      policy: record.policy,
      attributes,
      selectors,
      spiffeIdPath,
      ...(options.trustDomain !== undefined ? { spiffeId: `spiffe://${options.trustDomain}${spiffeIdPath}` } : {}),
      ...(record.certifyExtraData !== null ? { certifyExtraData: record.certifyExtraData } : {}),
      tolerancesUsed: record.tolerancesUsed,
      checks: log.checks,
    }
  }

  /**
   * Sealed sessions settled by the caller: the use-once ids whose answer is being checked now (one
   * entry per answer in progress, removed when it ends), the hint UseOnceStore.seen lacks until a
   * claim has resolved.
   */
  const answering = new Set<string>()

  return {
    async start(request, startOptions = {}) {
      const provided = providedTypes(request, attestors)
      const candidates = policies.filter((p) => p.requiredAttestors.every((a) => provided.includes(a.type)))
      if (candidates.length === 0) {
        throw new PolicyError('ERR_POLICY_DENIED', NO_POLICY_AUTHORIZES, { detail: { providedMethods: provided.join(',') } })
      }
      let firstFailure: unknown
      for (const policy of candidates) {
        let result: Awaited<ReturnType<typeof checkPolicy>>
        try {
          result = await checkPolicy(policy, request.evidence)
        } catch (e) {
          if (!(e instanceof VerifyError)) throw e
          firstFailure ??= e
          continue
        }
        if (startOptions.admit) await startOptions.admit(result.log.agent)
        const challenges: Record<string, unknown> = {}
        const attestorSessions: Record<string, Readonly<Record<string, string>>> = {}
        let extra: string | null = null
        const boot: Record<string, BootSession> = {}
        const bootPolicies: Record<string, BootPolicy> = {}
        for (const f of result.facts) {
          const attestor = attestors.get(f.type)!
          const c = await result.log.run(
            `${f.type}.challenge`,
            () => attestor.makeChallenge(f.facts, platform),
            undefined,
            () => attestor.challengeDetail,
          )
          challenges[f.type] = c.challenge
          attestorSessions[f.type] = c.session
          if (f.facts.certifyExtraData !== undefined) extra = f.facts.certifyExtraData
          // a boot policy without an attested AK to quote with must not be skipped: refuse
          if (f.boot && !f.akPub)
            throw result.log.fail(`${f.type}.boot.challenge`, 'ERR_BOOT_QUOTE_MISSING', `${f.type}: the attestor has no AK to quote with`)
          if (f.boot && f.akPub) {
            const b = makeBootChallenge(f.boot, f.akPub, platform)
            ;(challenges[f.type] as Record<string, unknown>).Quote = b.challenge
            boot[f.type] = b.session
            bootPolicies[f.type] = f.boot
            result.log.pass(
              `${f.type}.boot.challenge`,
              `quote nonce; ${b.session.selection.map((s) => `${s.bank} PCRs ${s.pcrs.join(',')}`).join('; ')}`,
            )
          }
        }
        const sessionId = newSessionId(platform)
        const expiresAt = platform.now() + ttl
        const record: SessionRecord = {
          v: 2,
          policy: policy.name,
          attestorTypes: result.facts.map((f) => f.type),
          attributes: result.attributes,
          selectors: result.selectors.map((s) => ({ type: s.type, value: s.value })),
          spiffeIdPath: result.spiffeIdPath,
          certifyExtraData: extra,
          tolerancesUsed: result.facts.flatMap((f) => f.facts.tolerancesUsed.map((t) => ({ check: t.check, tolerance: t.tolerance }))),
          checks: result.log.checks.map((c) => ({ ...c })),
          attestors: attestorSessions,
          agent: { ...result.log.agent } as Record<string, string>,
          boot: Object.keys(boot).length > 0 ? boot : null,
          bootPolicies: Object.keys(boot).length > 0 ? (bootPolicies as unknown as { [type: string]: SessionValue }) : null,
          template: policy.spiffeIDTemplate,
        }
        if (sealed) return { sessionId: await sealSession(record, expiresAt, sealed.keyring, platform), expiresAt, challenges }
        await sessions!.put(sessionId, record, expiresAt)
        return { sessionId, expiresAt, challenges }
      }
      throw firstFailure
    },

    async answer(sessionId, answers, answerOptions = {}) {
      const binding = answerOptions.binding
      if (binding !== undefined && binding.length !== 32)
        throw new RangeError('answer: binding must be the 32-byte SHA-256 of the SPKI DER')
      if (!sealed) return checkAnswers(await takeStored(sessionId, sessions!), answers, answerOptions)
      const settle = answerOptions.settle
      const opened = await openSealed(sessionId, sealed, platform, settle === undefined)
      if (!settle) return checkAnswers(opened, answers, answerOptions)
      // of the answers of one session checked here at once at most one can be settled: the others
      // are refused before their checks (a replayed answer sent in a burst costs one check run)
      if (answering.has(opened.useOnceId)) throw unknownSession()
      answering.add(opened.useOnceId)
      try {
        // claimed after the checks, with what the caller records: the outcome waits for the claim
        const claim = { id: opened.useOnceId, expiresAt: opened.expiresAt }
        let verdict: Verdict
        try {
          verdict = await checkAnswers(opened, answers, answerOptions)
        } catch (e) {
          if (!(await settle(claim, undefined))) throw unknownSession()
          throw e
        }
        if (!(await settle(claim, verdict))) throw unknownSession()
        return verdict
      } finally {
        // settled (the use-once store now knows the id), or settle threw (the session may be unused)
        answering.delete(opened.useOnceId)
      }
    },
  }
}
