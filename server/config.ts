/**
 * Server configuration (YAML):
 *
 *   trustDomain: example.org        # required
 *   listen: 127.0.0.1:8081          # host:port, default 127.0.0.1:8081
 *   serverNames: [vouch.example.net, 10.0.0.5]  # optional: more names for the listener certificate
 *                                   # (a load balancer's DNS name, a virtual IP), next to the listen host
 *   dataDir: /var/lib/vouch         # required: CA files and the agent registry (agents.db)
 *   policy: /etc/vouch/policy.yaml  # required: the AgentAttestation policy document
 *   svidTtl: 1h                     # default 1h; ms/s/m/h suffixes or plain seconds
 *   sessionTtl: 5m                  # default 5m
 *   tls: true                       # default true (server CA); false only for local testing
 *   ca: { certFile: ..., keyFile: ... }   # optional: load the CA instead of creating one in dataDir
 *   tlsCertTtl: 30d                 # listener certificate lifetime, default 30d
 *   tlsRenewBefore: 10d             # reissue the listener certificate this long before it expires (default ttl/3)
 *   caRotateBefore: 365d            # rotate the server CA this long before it expires (default 365d; warns at twice that)
 *   policyWatch: true               # reread the policy file when it changes (default true; SIGHUP always rereads)
 *   limits: { ... }                 # connection cap and timeouts (server/limits-config.ts)
 *   rateLimit: { ... }              # per-address and per-identity rate limits (server/limits-config.ts)
 *   jwtIssuer: https://vouch.example.org  # optional: JWT-SVID iss and OIDC issuer (default: the server's listening URL)
 *   sessions: sealed                # sealed (default: state sealed to the agent, use-once records in agents.db) or memory
 *   sessionKeys: /etc/vouch/session-keys.yaml   # sealed-session keyring (server/session-keys.ts); or env VOUCH_SESSION_KEYS
 *   database: postgres://vouch@db:5432/vouch   # optional: the agent registry on PostgreSQL, shared by
 *                                   # replicas (default: SQLite, dataDir/agents.db)
 *   workers: 2                      # processes sharing the listening socket (default 1; Node only;
 *                                   # more than 1 needs sessions: sealed and database: postgres://...)
 *
 * Environment variables override keys: VOUCH_TRUST_DOMAIN, VOUCH_LISTEN, VOUCH_DATA_DIR,
 * VOUCH_POLICY, VOUCH_SVID_TTL, VOUCH_SESSION_TTL, VOUCH_TLS, VOUCH_CA_CERT_FILE, VOUCH_CA_KEY_FILE,
 * VOUCH_TLS_CERT_TTL, VOUCH_TLS_RENEW_BEFORE, VOUCH_CA_ROTATE_BEFORE, VOUCH_POLICY_WATCH,
 * VOUCH_MAX_CONNECTIONS, VOUCH_RATE_LIMIT, VOUCH_JWT_ISSUER, VOUCH_DATABASE_URL, VOUCH_WORKERS,
 * VOUCH_SERVER_NAMES (comma-separated).
 * Every validation error names its key.
 */
import { parse as parseYaml } from 'yaml'
import { CA_VALIDITY_MS } from './ca/authority.ts'
import { MAX_SERVER_NAMES, serverNameProblem } from './ca/listener-names.ts'
import { parseLimits, parseRateLimit, type RateLimitConfig, type ServerLimits } from './limits-config.ts'

export interface ServerConfig {
  readonly trustDomain: string
  readonly host: string
  readonly port: number
  readonly dataDir: string
  readonly policy: string
  readonly svidTtlMs: number
  readonly sessionTtlMs: number
  readonly tls: boolean
  readonly ca?: { readonly certFile: string; readonly keyFile: string }
  /** listener certificate lifetime (default TLS_CERT_TTL_MS, 30 days) */
  readonly tlsCertTtlMs?: number
  /** reissue the listener certificate this long before it expires (default a third of its lifetime) */
  readonly tlsRenewBeforeMs?: number
  /** rotate the server CA this long before it expires (default 365 days); warn at twice this */
  readonly caRotateBeforeMs?: number
  /** watch the policy file and reload it on change (default true) */
  readonly policyWatch?: boolean
  /** connection cap and timeouts of the listener (defaults: limits-config.ts DEFAULT_LIMITS) */
  readonly limits: ServerLimits
  /** rate limits (defaults: limits-config.ts DEFAULT_RATE_LIMIT, on) */
  readonly rateLimit: RateLimitConfig
  /** JWT-SVID `iss` and OIDC issuer (an https URL); default the server's listening URL */
  readonly jwtIssuer?: string
  /** where attestation sessions live: sealed to the agent (default) or in server memory */
  readonly sessions: 'sealed' | 'memory'
  /** the sealed-session keyring file (JSON or YAML list of {id, key, seal}); absent: env VOUCH_SESSION_KEYS, else a random key */
  readonly sessionKeys?: string
  /** the agent registry's PostgreSQL URL (postgres://...); absent: SQLite in dataDir/agents.db */
  readonly database?: string
  /** processes serving the listening socket on this machine (node:cluster); default 1 */
  readonly workers: number
  /** names the listener certificate carries next to the listen host (DNS names, IP addresses) */
  readonly serverNames?: readonly string[]
}

/** The most `workers` a config may ask for. */
export const MAX_WORKERS = 256

/** Default lifetime of the listener certificate (tlsCertTtl): 30 days. */
export const TLS_CERT_TTL_MS = 30 * 86_400_000

export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`config ${key}: ${message}`)
  }
}

const ENV: Record<string, string> = {
  VOUCH_TRUST_DOMAIN: 'trustDomain',
  VOUCH_LISTEN: 'listen',
  VOUCH_DATA_DIR: 'dataDir',
  VOUCH_POLICY: 'policy',
  VOUCH_SVID_TTL: 'svidTtl',
  VOUCH_SESSION_TTL: 'sessionTtl',
  VOUCH_TLS: 'tls',
  VOUCH_CA_CERT_FILE: 'ca.certFile',
  VOUCH_CA_KEY_FILE: 'ca.keyFile',
  VOUCH_TLS_CERT_TTL: 'tlsCertTtl',
  VOUCH_TLS_RENEW_BEFORE: 'tlsRenewBefore',
  VOUCH_CA_ROTATE_BEFORE: 'caRotateBefore',
  VOUCH_POLICY_WATCH: 'policyWatch',
  VOUCH_JWT_ISSUER: 'jwtIssuer',
  VOUCH_SESSIONS: 'sessions',
  VOUCH_SESSION_KEYS_FILE: 'sessionKeys',
  VOUCH_DATABASE_URL: 'database',
  VOUCH_WORKERS: 'workers',
  VOUCH_SERVER_NAMES: 'serverNames',
}

const KNOWN = new Set([
  'trustDomain',
  'listen',
  'dataDir',
  'policy',
  'svidTtl',
  'sessionTtl',
  'tls',
  'ca',
  'tlsCertTtl',
  'tlsRenewBefore',
  'caRotateBefore',
  'policyWatch',
  'limits',
  'rateLimit',
  'jwtIssuer',
  'sessions',
  'sessionKeys',
  'database',
  'workers',
  'serverNames',
])

/** The URL with its password replaced, for error messages. */
function redactUrl(v: string): string {
  return v.replace(/^([a-z]+:\/\/[^:@/]*:)[^@/]*@/i, '$1***@')
}

/** A postgres:// (or postgresql://) URL naming a host and a database; the password never appears in an error. */
export function parseDatabaseUrl(key: string, v: unknown): string {
  const text = str(key, v).trim()
  let url: URL
  try {
    url = new URL(text)
  } catch {
    throw new ConfigError(key, `expected a postgres://user@host:port/database URL, found ${JSON.stringify(redactUrl(text))}`)
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
    throw new ConfigError(
      key,
      `expected a postgres:// URL (omit database for the embedded SQLite registry), found scheme ${JSON.stringify(url.protocol)}`,
    )
  if (url.hostname === '' && !url.searchParams.has('host'))
    throw new ConfigError(key, `expected a host in the URL, found ${JSON.stringify(redactUrl(text))}`)
  if (url.pathname.replace(/^\//, '') === '')
    throw new ConfigError(key, `expected a database name in the URL path, found ${JSON.stringify(redactUrl(text))}`)
  return text
}

/** '30d', '1h', '30m', '45s', '500ms', or a number of seconds. */
export function parseDuration(key: string, v: unknown): number {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return v * 1000
  if (typeof v === 'string') {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(v.trim())
    if (m) {
      const n = Number(m[1]) * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 's'] ?? 1000)
      if (n > 0) return n
    }
  }
  throw new ConfigError(key, `expected a positive duration like 30d, 1h, 30m, 45s or 500ms, found ${JSON.stringify(v)}`)
}

function fail(key: string, message: string): never {
  throw new ConfigError(key, message)
}

function str(key: string, v: unknown): string {
  if (typeof v !== 'string' || v.trim() === '')
    throw new ConfigError(key, `expected a non-empty string, found ${v === undefined ? 'nothing' : JSON.stringify(v)}`)
  return v
}

function bool(key: string, v: unknown): boolean {
  if (typeof v === 'boolean') return v
  if (v === 'true' || v === '1') return true
  if (v === 'false' || v === '0') return false
  throw new ConfigError(key, `expected true or false, found ${JSON.stringify(v)}`)
}

/** An https URL without query or fragment (OIDC Discovery §3: the issuer). */
function jwtIssuer(v: unknown): string {
  const s = str('jwtIssuer', v)
  let u: URL
  try {
    u = new URL(s)
  } catch {
    throw new ConfigError('jwtIssuer', `expected an https URL, found ${JSON.stringify(s)}`)
  }
  if (u.protocol !== 'https:' || u.search !== '' || u.hash !== '')
    throw new ConfigError('jwtIssuer', `expected an https URL without query or fragment, found ${JSON.stringify(s)}`)
  return s.replace(/\/$/, '')
}

function sessionsMode(v: unknown): 'sealed' | 'memory' {
  if (v === undefined || v === 'sealed') return 'sealed'
  if (v === 'memory') return 'memory'
  throw new ConfigError('sessions', `expected sealed or memory, found ${JSON.stringify(v)}`)
}

function workerCount(v: unknown): number {
  if (v === undefined) return 1
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : Number.NaN
  if (!Number.isInteger(n) || n < 1 || n > MAX_WORKERS)
    throw new ConfigError('workers', `expected a whole number from 1 to ${MAX_WORKERS}, found ${JSON.stringify(v)}`)
  return n
}

/**
 * `serverNames`: a YAML list, or a comma-separated string (VOUCH_SERVER_NAMES); each a DNS name or
 * an IP address, at most MAX_SERVER_NAMES.
 */
function serverNames(v: unknown): readonly string[] {
  const list = typeof v === 'string' ? v.split(',').map((n) => n.trim()) : v
  if (!Array.isArray(list) || list.length > MAX_SERVER_NAMES)
    throw new ConfigError(
      'serverNames',
      `expected a list of up to ${MAX_SERVER_NAMES} DNS names or IP addresses, found ${JSON.stringify(v)}`,
    )
  return list.map((n, i) => {
    if (typeof n !== 'string' || n === '')
      throw new ConfigError('serverNames', `[${i}]: expected a DNS name or an IP address, found ${JSON.stringify(n)}`)
    const problem = serverNameProblem(n)
    if (problem) throw new ConfigError('serverNames', `[${i}]: ${problem}`)
    return n
  })
}

/**
 * What more than one worker needs: every worker must answer a session another one started
 * (sealed sessions, the use-once records in a store they all share), and the agent registry must
 * be safe when a worker dies inside a write. node-sqlite3-wasm (the Node SQLite driver) locks with
 * a lock directory and, holding that lock itself, never sees an interrupted write's journal as hot:
 * a process killed inside a transaction leaves its half-written pages for every other process
 * (test/server/entry/sqlite-wasm.test.ts shows it). So workers > 1 takes PostgreSQL.
 */
function checkWorkers(config: ServerConfig): void {
  if (config.workers === 1) return
  if (config.sessions === 'memory')
    throw new ConfigError(
      'workers',
      `${config.workers} workers need sessions: sealed (a session started on one worker must be answerable on another; sessions: memory keeps it in one process)`,
    )
  if (config.database === undefined)
    throw new ConfigError(
      'workers',
      `${config.workers} workers need database: postgres://... (the embedded SQLite driver does not recover a write interrupted by a worker's crash for the other workers, and the use-once records must be shared)`,
    )
}

/** Config from YAML text and environment variables (env wins). */
export function parseServerConfig(yamlText: string, env: Readonly<Record<string, string | undefined>> = {}): ServerConfig {
  let doc: unknown
  try {
    doc = yamlText.trim() === '' ? {} : parseYaml(yamlText)
  } catch (e) {
    throw new ConfigError('(file)', `not valid YAML: ${(e as Error).message.split('\n')[0]}`)
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new ConfigError('(file)', 'expected a YAML mapping')
  const raw: Record<string, unknown> = { ...(doc as Record<string, unknown>) }
  for (const k of Object.keys(raw)) if (!KNOWN.has(k)) throw new ConfigError(k, 'unknown key')
  const ca: Record<string, unknown> =
    raw.ca === undefined
      ? {}
      : typeof raw.ca === 'object' && raw.ca !== null
        ? { ...(raw.ca as object) }
        : (() => {
            throw new ConfigError('ca', 'expected a mapping with certFile and keyFile')
          })()
  for (const [name, key] of Object.entries(ENV)) {
    const v = env[name]
    if (v === undefined) continue
    if (key.startsWith('ca.')) ca[key.slice(3)] = v
    else raw[key] = v
  }
  const trustDomain = str('trustDomain', raw.trustDomain)
  if (!/^[a-z0-9._-]+$/.test(trustDomain))
    throw new ConfigError(
      'trustDomain',
      `expected a trust domain name (lowercase letters, digits, '.', '-', '_'), found ${JSON.stringify(trustDomain)}`,
    )
  const listen = raw.listen === undefined ? '127.0.0.1:8081' : str('listen', raw.listen)
  const m = /^(.*):(\d{1,5})$/.exec(listen)
  if (!m || m[1] === '' || Number(m[2]) > 65535) throw new ConfigError('listen', `expected host:port, found ${JSON.stringify(listen)}`)
  const host = m[1]!.replace(/^\[(.*)\]$/, '$1')
  const config: ServerConfig = {
    trustDomain,
    host,
    port: Number(m[2]),
    dataDir: str('dataDir', raw.dataDir),
    policy: str('policy', raw.policy),
    svidTtlMs: raw.svidTtl === undefined ? 3_600_000 : parseDuration('svidTtl', raw.svidTtl),
    sessionTtlMs: raw.sessionTtl === undefined ? 300_000 : parseDuration('sessionTtl', raw.sessionTtl),
    tls: raw.tls === undefined ? true : bool('tls', raw.tls),
    ...(raw.tlsCertTtl === undefined ? {} : { tlsCertTtlMs: parseDuration('tlsCertTtl', raw.tlsCertTtl) }),
    ...(raw.tlsRenewBefore === undefined ? {} : { tlsRenewBeforeMs: parseDuration('tlsRenewBefore', raw.tlsRenewBefore) }),
    ...(raw.caRotateBefore === undefined ? {} : { caRotateBeforeMs: parseDuration('caRotateBefore', raw.caRotateBefore) }),
    ...(raw.policyWatch === undefined ? {} : { policyWatch: bool('policyWatch', raw.policyWatch) }),
    limits: parseLimits(raw.limits, env, fail, parseDuration),
    rateLimit: parseRateLimit(raw.rateLimit, env, fail, bool),
    ...(raw.jwtIssuer !== undefined ? { jwtIssuer: jwtIssuer(raw.jwtIssuer) } : {}),
    sessions: sessionsMode(raw.sessions),
    ...(raw.sessionKeys === undefined ? {} : { sessionKeys: str('sessionKeys', raw.sessionKeys) }),
    ...(raw.database === undefined || raw.database === '' ? {} : { database: parseDatabaseUrl('database', raw.database) }),
    workers: workerCount(raw.workers),
    ...(raw.serverNames === undefined || raw.serverNames === '' ? {} : { serverNames: serverNames(raw.serverNames) }),
  }
  checkWorkers(config)
  const tlsTtl = config.tlsCertTtlMs ?? TLS_CERT_TTL_MS
  if (config.tlsRenewBeforeMs !== undefined && config.tlsRenewBeforeMs >= tlsTtl)
    throw new ConfigError('tlsRenewBefore', `must be shorter than tlsCertTtl (${tlsTtl} ms), found ${config.tlsRenewBeforeMs} ms`)
  // a lead of half the CA lifetime or more would rotate again right after every rotation, and the
  // retired roots (kept until they expire) would grow the bundle past what agents accept
  if (config.caRotateBeforeMs !== undefined && config.caRotateBeforeMs >= CA_VALIDITY_MS / 2)
    throw new ConfigError(
      'caRotateBefore',
      `must be shorter than half the CA lifetime (${CA_VALIDITY_MS / 2 / 86_400_000}d), found ${config.caRotateBeforeMs / 86_400_000}d`,
    )
  if (ca.certFile !== undefined || ca.keyFile !== undefined) {
    return { ...config, ca: { certFile: str('ca.certFile', ca.certFile), keyFile: str('ca.keyFile', ca.keyFile) } }
  }
  return config
}

/**
 * Every config key (`ca.certFile` for the keys of a mapping) with the environment variable that
 * overrides it, in KNOWN order: what `vouch server --help` lists.
 */
export function serverConfigKeys(): { readonly key: string; readonly env?: string }[] {
  const envOf = new Map(Object.entries(ENV).map(([variable, key]) => [key, variable]))
  return [...KNOWN].flatMap((key) => {
    const nested = Object.values(ENV).filter((k) => k.startsWith(`${key}.`))
    const keys = nested.length > 0 ? nested : [key]
    return keys.map((k) => (envOf.has(k) ? { key: k, env: envOf.get(k)! } : { key: k }))
  })
}
