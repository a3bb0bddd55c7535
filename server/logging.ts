/**
 * JSON-lines logs: one object per line, `{ time, level, msg, ...fields }`. Messages are the
 * seed's ("Login started with multi-attestation support", "Authorization received and verified",
 * "Connected to agent"). Callers pass only safe fields: never nonces, secrets, keys or whole
 * certificates; the logger drops any field whose name says it could be one (SECRET_FIELD), as a second fence, and
 * bounds every value (`boundLogValue`). Request lines carry `client`, the client address.
 */
import { AttestationFailure } from '../core/attestor/checks.ts'
import type { VerifyError } from '../core/errors.ts'

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFields = Readonly<Record<string, unknown>>

export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
}

const SECRET_FIELD = /nonce|secret|credential|private|password|token|certificate$|^cert$|pem|der$/i

/** Longest string kept whole in a log field; longer ones are cut and their length noted. */
export const LOG_MAX_STRING = 256
/** Most array items or object keys kept per level; the rest are counted. */
export const LOG_MAX_ITEMS = 16
const LOG_MAX_DEPTH = 4

/**
 * A log value of bounded size whatever the request held: strings cut to LOG_MAX_STRING
 * (`…[+N chars]`), arrays and objects to LOG_MAX_ITEMS entries (`…[+N more]`), nesting to 4
 * levels. An attacker's string costs the log at most a few kilobytes per line.
 */
export function boundLogValue(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return v.length > LOG_MAX_STRING ? `${v.slice(0, LOG_MAX_STRING)}…[+${v.length - LOG_MAX_STRING} chars]` : v
  if (typeof v !== 'object' || v === null) return v
  if (depth >= LOG_MAX_DEPTH) return Array.isArray(v) ? `[array of ${v.length}]` : '[object]'
  if (Array.isArray(v)) {
    const out = v.slice(0, LOG_MAX_ITEMS).map((x) => boundLogValue(x, depth + 1))
    if (v.length > LOG_MAX_ITEMS) out.push(`…[+${v.length - LOG_MAX_ITEMS} more]`)
    return out
  }
  const out: Record<string, unknown> = {}
  let n = 0
  let total = 0
  for (const k in v as Record<string, unknown>) {
    if (!Object.hasOwn(v, k)) continue
    total++
    if (n >= LOG_MAX_ITEMS) continue
    n++
    out[boundLogValue(k) as string] = boundLogValue((v as Record<string, unknown>)[k], depth + 1)
  }
  if (total > n) out['…'] = `+${total - n} more`
  return out
}

/** SECRET_FIELD's answer per field name: the names come from the code, a few dozen (bounded all the same) */
const secretField = new Map<string, boolean>()
const SECRET_FIELD_MEMO = 512

function isSecretField(name: string): boolean {
  let secret = secretField.get(name)
  if (secret === undefined) {
    secret = SECRET_FIELD.test(name)
    if (secretField.size < SECRET_FIELD_MEMO) secretField.set(name, secret)
  }
  return secret
}

/**
 * A logger writing one JSON line per entry to `write`; `base` fields follow `msg` on every line
 * (a worker's `worker` and `pid`). The line is built in one object, in the order
 * `{ time, level, msg, ...base, ...fields }` (a later key replaces an earlier one), with the fields
 * redacted and bounded.
 */
export function createJsonLogger(write: (line: string) => void, now: () => number = () => Date.now(), base: LogFields = {}): Logger {
  const log = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    const line: Record<string, unknown> = { time: new Date(now()).toISOString(), level, msg }
    for (const k in base) if (Object.hasOwn(base, k)) line[k] = base[k]
    for (const k in fields) if (Object.hasOwn(fields, k) && !isSecretField(k)) line[k] = boundLogValue(fields[k])
    write(JSON.stringify(line))
  }
  return {
    log,
    info: (m, f) => log('info', m, f),
    warn: (m, f) => log('warn', m, f),
    error: (m, f) => log('error', m, f),
  }
}

export const LOG_MESSAGES = {
  connected: 'Connected to agent',
  loginStarted: 'Login started with multi-attestation support',
  authorized: 'Authorization received and verified',
  attestationFailed: 'Attestation failed',
  svidIssued: 'X509-SVID issued',
  listening: 'Server listening',
  rateLimited: 'Rate limited',
} as const

/**
 * The fields of an "Attestation failed" line an operator can act on: the code and the seed's
 * message the agent was given; the failed check and why; the failing error's facts (which
 * certificate by subject, serial and fingerprint, which issuer, what date, which attribute); and
 * who the agent is when the checks got that far (DevID fingerprint, EK hash). Error details hold
 * safe facts only (core/errors.ts); a nonce, a secret or a key is never among them.
 */
export function failureFields(e: VerifyError): Record<string, unknown> {
  const { check, ...detail } = e.detail
  const out: Record<string, unknown> = { code: e.code, message: e.message }
  if (e instanceof AttestationFailure) {
    if (e.check !== undefined) out.check = e.check
    if (e.reason !== undefined && e.reason !== e.message) out.reason = e.reason
    if (Object.keys(e.agent).length > 0) out.agent = e.agent
  } else if (check !== undefined) out.check = check
  if (Object.keys(detail).length > 0) out.detail = detail
  return out
}
