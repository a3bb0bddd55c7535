/**
 * The readable verdict trail: every check the verifier ran, in order, with its outcome. A failed
 * check stops the flow; the error thrown is an {@link AttestationFailure} carrying the trail, the
 * seed's message and a stable code. Details are safe facts (names, algorithms, fingerprints),
 * never a nonce, a secret or a key.
 */
import { VerifyError, type ErrorCode } from '../errors.ts'
import { KEY_DATA_REJECTED } from '../messages.ts'

export interface Check {
  /** stable dotted name, e.g. `tpm_devid.certify` */
  readonly name: string
  readonly ok: boolean
  /** what was found (on success) or why it failed */
  readonly detail: string
}

/** A profile tolerance an attestation needed: the check that applied it and its name (core/policy/types.ts ProfileTolerance). */
export interface ToleranceUse {
  readonly check: string
  readonly tolerance: string
}

/** Who the agent is, as far as the checks got: safe to log (fingerprints and hashes, never keys). */
export interface AgentIdentity {
  /** SHA-256 of the DevID leaf certificate DER, lowercase hex */
  devIdFingerprint?: string
  /** DevID leaf serial number, lowercase hex */
  devIdSerial?: string
  /** SHA-256 of the EK SubjectPublicKeyInfo DER, lowercase hex (the allowedEKHashes form) */
  ekHash?: string
}

/**
 * A verifier failure: `code` and `message` are the seed's (what the agent is told); `checks` the
 * trail up to the failing check. For the operator: `check` names the failed check, `reason` says
 * why, `detail` holds the failing error's facts (which certificate, issuer, date, attribute) and
 * `agent` who the agent is when the checks got that far.
 */
export class AttestationFailure extends VerifyError {
  readonly checks: readonly Check[]
  readonly agent: Readonly<AgentIdentity>
  constructor(
    code: ErrorCode,
    message: string,
    checks: readonly Check[],
    options: { cause?: unknown; detail?: Record<string, string | number | boolean>; agent?: AgentIdentity } = {},
  ) {
    super(code, message, options)
    this.checks = Object.freeze([...checks])
    this.agent = Object.freeze({ ...options.agent })
  }

  /** the failed check, e.g. `tpm_devid.devid.chain` */
  get check(): string | undefined {
    const last = this.checks[this.checks.length - 1]
    return last && !last.ok ? last.name : undefined
  }

  /** why the check failed, with the underlying code and message */
  get reason(): string | undefined {
    const last = this.checks[this.checks.length - 1]
    return last && !last.ok ? last.detail : undefined
  }
}

/**
 * How a failed check maps to the error the caller sees: a code and a seed message, a code with
 * the error's own message (message omitted), or the error as-is (undefined).
 */
export type FailureMapping = { readonly code: ErrorCode; readonly message?: string } | undefined

export class CheckLog {
  readonly checks: Check[] = []
  readonly agent: AgentIdentity = {}

  /** Records who the agent is, as soon as a check establishes it (carried by later failures). */
  identify(facts: AgentIdentity): void {
    Object.assign(this.agent, facts)
  }

  pass(name: string, detail: string): void {
    this.checks.push({ name, ok: true, detail })
  }

  /** Records a failed check and returns the error to throw. */
  fail(name: string, code: ErrorCode, message: string, why: string = message, cause?: unknown): AttestationFailure {
    this.checks.push({ name, ok: false, detail: why })
    const causeDetail = cause instanceof VerifyError ? cause.detail : {}
    return new AttestationFailure(code, message, this.checks, { cause, detail: { ...causeDetail, check: name }, agent: this.agent })
  }

  /**
   * Runs one check. On a VerifyError the check is recorded as failed with the error's message as
   * detail; the thrown error has `map`'s seed code and message, or the original code and message.
   * Errors that are not VerifyError (bugs) propagate unchanged.
   */
  async run<T>(name: string, fn: () => T | Promise<T>, map?: FailureMapping, describe?: (r: T) => string): Promise<T> {
    let result: T
    try {
      result = await fn()
    } catch (e) {
      throw this.failure(name, e, map)
    }
    this.pass(name, describe ? describe(result) : 'ok')
    return result
  }

  /** {@link run} for a synchronous check (a parse, a profile rule): no promise, no await hop. */
  runSync<T>(name: string, fn: () => Exclude<T, PromiseLike<unknown>>, map?: FailureMapping, describe?: (r: T) => string): T {
    let result: T
    try {
      result = fn()
    } catch (e) {
      throw this.failure(name, e, map)
    }
    this.pass(name, describe ? describe(result) : 'ok')
    return result
  }

  /** The error a check that threw `e` ends with (recorded as failed), or `e` itself when it is a bug. */
  private failure(name: string, e: unknown, map: FailureMapping): unknown {
    if (e instanceof AttestationFailure) return e
    if (e instanceof VerifyError) {
      return this.fail(name, map?.code ?? e.code, map?.message ?? e.message, map ? `${e.code}: ${e.message}` : e.message, e)
    }
    if (isKeyDataRejection(e)) {
      // hostile key material (e.g. an EC point off the curve) that a crypto provider refuses at import
      return this.fail(
        name,
        map?.code ?? 'ERR_X509_MALFORMED',
        map?.message ?? KEY_DATA_REJECTED,
        'key material rejected by the crypto provider (DataError at key import)',
        e,
      )
    }
    return e
  }
}

/** Web Crypto's importKey rejects invalid key data (an EC point not on its curve) with a DataError. */
function isKeyDataRejection(e: unknown): boolean {
  return typeof e === 'object' && e !== null && (e as { name?: unknown }).name === 'DataError'
}
