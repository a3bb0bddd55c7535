/**
 * JSON-lines logs: one object per line, `{ time, level, msg, ...fields }`. Messages are the
 * seed's ("Login started with multi-attestation support", "Authorization received and verified",
 * "Connected to agent"). Callers pass only safe fields: never nonces, secrets, keys or whole
 * certificates; `redact` drops any field whose name says it could be one, as a second fence.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFields = Readonly<Record<string, unknown>>

export interface Logger {
  log(level: LogLevel, msg: string, fields?: LogFields): void
  info(msg: string, fields?: LogFields): void
  warn(msg: string, fields?: LogFields): void
  error(msg: string, fields?: LogFields): void
}

const SECRET_FIELD = /nonce|secret|credential|private|password|token|certificate$|^cert$|pem|der$/i

function redact(fields: LogFields): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(fields)) if (!SECRET_FIELD.test(k)) out[k] = v
  return out
}

/** A logger writing one JSON line per entry to `write`. */
export function createJsonLogger(write: (line: string) => void, now: () => number = () => Date.now()): Logger {
  const log = (level: LogLevel, msg: string, fields: LogFields = {}): void => {
    write(JSON.stringify({ time: new Date(now()).toISOString(), level, msg, ...redact(fields) }))
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
} as const
