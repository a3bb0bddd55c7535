/**
 * The `limits` and `rateLimit` keys of the server config (docs/protocol.md "Limits"):
 *
 *   limits:                      # the listener (Node: node:http/https; Bun: what Bun.serve offers)
 *     maxConnections: 512        # open connections at once; one more is closed at accept
 *     headersTimeout: 10s        # a request's headers must arrive within this
 *     requestTimeout: 30s        # a whole request (headers and body) must arrive within this
 *     idleTimeout: 30s           # a connection with no traffic is closed after this
 *     keepAliveTimeout: 5s       # an idle keep-alive connection between requests is closed after this
 *     maxRequestsPerSocket: 1000 # requests per connection before it is closed (0: no limit)
 *     handshakeTimeout: 10s      # a TLS handshake must finish within this
 *   rateLimit:                   # token buckets per client address and per attested identity
 *     enabled: true
 *     perAddress: { burst: 600, rate: 60 }   # requests to /v1/*, rate per second
 *     perIdentity: { burst: 60, rate: 1 }    # answers per EK hash / DevID fingerprint
 *     maxKeys: 10000             # buckets held per scope (least recently used evicted)
 *
 * Environment: VOUCH_MAX_CONNECTIONS, VOUCH_RATE_LIMIT (true/false).
 */
import type { RateLimitRule } from './rate-limit.ts'

export interface ServerLimits {
  readonly maxConnections: number
  readonly headersTimeoutMs: number
  readonly requestTimeoutMs: number
  readonly idleTimeoutMs: number
  readonly keepAliveTimeoutMs: number
  readonly maxRequestsPerSocket: number
  readonly handshakeTimeoutMs: number
}

export interface RateLimitConfig {
  readonly enabled: boolean
  readonly perAddress: RateLimitRule
  readonly perIdentity: RateLimitRule
  readonly maxKeys: number
}

export const DEFAULT_LIMITS: ServerLimits = {
  maxConnections: 512,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  idleTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  maxRequestsPerSocket: 1000,
  handshakeTimeoutMs: 10_000,
}

export const DEFAULT_RATE_LIMIT: RateLimitConfig = {
  enabled: true,
  perAddress: { burst: 600, ratePerSecond: 60 },
  perIdentity: { burst: 60, ratePerSecond: 1 },
  maxKeys: 10_000,
}

type Fail = (key: string, message: string) => never
type Duration = (key: string, v: unknown) => number

function mapping(key: string, v: unknown, fail: Fail): Record<string, unknown> {
  if (v === undefined) return {}
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(key, 'expected a mapping')
  return v as Record<string, unknown>
}

function onlyKeys(key: string, m: Record<string, unknown>, known: readonly string[], fail: Fail): void {
  for (const k of Object.keys(m)) if (!known.includes(k)) fail(`${key}.${k}`, 'unknown key')
}

function integer(key: string, v: unknown, min: number, max: number, fail: Fail): number {
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    fail(key, `expected an integer from ${min} to ${max}, found ${JSON.stringify(v)}`)
  }
  return n
}

function positive(key: string, v: unknown, max: number, fail: Fail): number {
  const n = typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v
  if (typeof n !== 'number' || !Number.isFinite(n) || n <= 0 || n > max)
    fail(key, `expected a number above 0 and at most ${max}, found ${JSON.stringify(v)}`)
  return n
}

/** `limits` from the config document (env already merged). Every error names its key. */
export function parseLimits(v: unknown, env: Readonly<Record<string, string | undefined>>, fail: Fail, duration: Duration): ServerLimits {
  const m = { ...mapping('limits', v, fail) }
  onlyKeys(
    'limits',
    m,
    ['maxConnections', 'headersTimeout', 'requestTimeout', 'idleTimeout', 'keepAliveTimeout', 'maxRequestsPerSocket', 'handshakeTimeout'],
    fail,
  )
  if (env.VOUCH_MAX_CONNECTIONS !== undefined) m.maxConnections = env.VOUCH_MAX_CONNECTIONS
  const d = DEFAULT_LIMITS
  const ms = (k: string, def: number) => (m[k] === undefined ? def : duration(`limits.${k}`, m[k]))
  const limits: ServerLimits = {
    maxConnections:
      m.maxConnections === undefined ? d.maxConnections : integer('limits.maxConnections', m.maxConnections, 1, 1_000_000, fail),
    headersTimeoutMs: ms('headersTimeout', d.headersTimeoutMs),
    requestTimeoutMs: ms('requestTimeout', d.requestTimeoutMs),
    idleTimeoutMs: ms('idleTimeout', d.idleTimeoutMs),
    keepAliveTimeoutMs: ms('keepAliveTimeout', d.keepAliveTimeoutMs),
    maxRequestsPerSocket:
      m.maxRequestsPerSocket === undefined
        ? d.maxRequestsPerSocket
        : integer('limits.maxRequestsPerSocket', m.maxRequestsPerSocket, 0, 1_000_000, fail),
    handshakeTimeoutMs: ms('handshakeTimeout', d.handshakeTimeoutMs),
  }
  // node:http refuses a headers timeout longer than the request timeout
  if (limits.headersTimeoutMs > limits.requestTimeoutMs) fail('limits.headersTimeout', 'must not be longer than limits.requestTimeout')
  return limits
}

function rule(key: string, v: unknown, def: RateLimitRule, fail: Fail): RateLimitRule {
  const m = mapping(key, v, fail)
  onlyKeys(key, m, ['burst', 'rate'], fail)
  return {
    burst: m.burst === undefined ? def.burst : integer(`${key}.burst`, m.burst, 1, 1_000_000, fail),
    ratePerSecond: m.rate === undefined ? def.ratePerSecond : positive(`${key}.rate`, m.rate, 1_000_000, fail),
  }
}

/** `rateLimit` from the config document. Every error names its key. */
export function parseRateLimit(
  v: unknown,
  env: Readonly<Record<string, string | undefined>>,
  fail: Fail,
  bool: (key: string, v: unknown) => boolean,
): RateLimitConfig {
  const m = { ...mapping('rateLimit', v, fail) }
  onlyKeys('rateLimit', m, ['enabled', 'perAddress', 'perIdentity', 'maxKeys'], fail)
  if (env.VOUCH_RATE_LIMIT !== undefined) m.enabled = env.VOUCH_RATE_LIMIT
  const d = DEFAULT_RATE_LIMIT
  return {
    enabled: m.enabled === undefined ? d.enabled : bool('rateLimit.enabled', m.enabled),
    perAddress: rule('rateLimit.perAddress', m.perAddress, d.perAddress, fail),
    perIdentity: rule('rateLimit.perIdentity', m.perIdentity, d.perIdentity, fail),
    maxKeys: m.maxKeys === undefined ? d.maxKeys : integer('rateLimit.maxKeys', m.maxKeys, 1, 1_000_000, fail),
  }
}
