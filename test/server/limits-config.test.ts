/** The `limits` and `rateLimit` config keys: defaults, every key read, env overrides, errors that name the key. */
import { describe, expect, it } from 'vitest'
import { ConfigError, parseServerConfig } from '../../server/config.ts'
import { DEFAULT_LIMITS, DEFAULT_RATE_LIMIT } from '../../server/limits-config.ts'

const BASE = 'trustDomain: example.org\ndataDir: /tmp/x\npolicy: /tmp/p.yaml\n'

describe('server config: limits and rateLimit', () => {
  it('defaults: a connection cap, timeouts and keep-alive limits; rate limits on with generous numbers', () => {
    const c = parseServerConfig(BASE)
    expect(c.limits).toEqual(DEFAULT_LIMITS)
    expect(c.rateLimit).toEqual(DEFAULT_RATE_LIMIT)
    expect(c.rateLimit.enabled).toBe(true)
    expect(c.limits.maxConnections).toBeGreaterThan(0)
    expect(c.limits.requestTimeoutMs).toBeLessThan(120_000)
  })

  it('reads every key; VOUCH_MAX_CONNECTIONS and VOUCH_RATE_LIMIT override', () => {
    const yaml =
      BASE +
      'limits: { maxConnections: 64, headersTimeout: 2s, requestTimeout: 5s, idleTimeout: 7s, keepAliveTimeout: 1s, maxRequestsPerSocket: 0, handshakeTimeout: 3s }\n' +
      'rateLimit: { enabled: true, perAddress: { burst: 10, rate: 2.5 }, perIdentity: { burst: 3, rate: 0.1 }, maxKeys: 50 }\n'
    expect(parseServerConfig(yaml)).toMatchObject({
      limits: {
        maxConnections: 64,
        headersTimeoutMs: 2000,
        requestTimeoutMs: 5000,
        idleTimeoutMs: 7000,
        keepAliveTimeoutMs: 1000,
        maxRequestsPerSocket: 0,
        handshakeTimeoutMs: 3000,
      },
      rateLimit: {
        enabled: true,
        perAddress: { burst: 10, ratePerSecond: 2.5 },
        perIdentity: { burst: 3, ratePerSecond: 0.1 },
        maxKeys: 50,
      },
    })
    const env = parseServerConfig(yaml, { VOUCH_MAX_CONNECTIONS: '9', VOUCH_RATE_LIMIT: 'false' })
    expect(env.limits.maxConnections).toBe(9)
    expect(env.rateLimit.enabled).toBe(false)
  })

  it('names the key in every validation error', () => {
    const cases: [string, Record<string, string>, string][] = [
      [BASE + 'limits: 5\n', {}, 'limits'],
      [BASE + 'limits: { maxConections: 5 }\n', {}, 'limits.maxConections'],
      [BASE + 'limits: { maxConnections: 0 }\n', {}, 'limits.maxConnections'],
      [BASE + 'limits: { maxConnections: 1.5 }\n', {}, 'limits.maxConnections'],
      [BASE, { VOUCH_MAX_CONNECTIONS: 'many' }, 'limits.maxConnections'],
      [BASE + 'limits: { idleTimeout: never }\n', {}, 'limits.idleTimeout'],
      [BASE + 'limits: { headersTimeout: 1m, requestTimeout: 30s }\n', {}, 'limits.headersTimeout'],
      [BASE + 'limits: { maxRequestsPerSocket: -1 }\n', {}, 'limits.maxRequestsPerSocket'],
      [BASE + 'rateLimit: { enabled: maybe }\n', {}, 'rateLimit.enabled'],
      [BASE, { VOUCH_RATE_LIMIT: 'perhaps' }, 'rateLimit.enabled'],
      [BASE + 'rateLimit: { perAddress: { burst: 0 } }\n', {}, 'rateLimit.perAddress.burst'],
      [BASE + 'rateLimit: { perIdentity: { rate: 0 } }\n', {}, 'rateLimit.perIdentity.rate'],
      [BASE + 'rateLimit: { perIdentity: { ratePerMinute: 5 } }\n', {}, 'rateLimit.perIdentity.ratePerMinute'],
      [BASE + 'rateLimit: { maxKeys: 0 }\n', {}, 'rateLimit.maxKeys'],
      [BASE + 'rateLimit: [1]\n', {}, 'rateLimit'],
    ]
    for (const [yaml, env, key] of cases) {
      let err: unknown
      try {
        parseServerConfig(yaml, env)
      } catch (e) {
        err = e
      }
      expect(err, yaml).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).key, yaml).toBe(key)
    }
  })
})
