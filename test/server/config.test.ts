import { describe, expect, it } from 'vitest'
import { ConfigError, parseServerConfig } from '../../server/config.ts'
import { DEFAULT_LIMITS, DEFAULT_RATE_LIMIT } from '../../server/limits-config.ts'

const BASE = 'trustDomain: example.org\ndataDir: /tmp/x\npolicy: /tmp/p.yaml\n'

describe('server config', () => {
  it('defaults: listen 127.0.0.1:8081, svidTtl 1h, sessionTtl 5m, tls on', () => {
    expect(parseServerConfig(BASE)).toEqual({
      trustDomain: 'example.org',
      host: '127.0.0.1',
      port: 8081,
      dataDir: '/tmp/x',
      policy: '/tmp/p.yaml',
      svidTtlMs: 3_600_000,
      sessionTtlMs: 300_000,
      tls: true,
      limits: DEFAULT_LIMITS,
      rateLimit: DEFAULT_RATE_LIMIT,
      sessions: 'sealed',
      workers: 1,
    })
  })

  it('sessions: sealed (default) or memory; sessionKeys a file; env overrides; anything else names the key', () => {
    expect(parseServerConfig(BASE + 'sessions: memory\n').sessions).toBe('memory')
    const c = parseServerConfig(BASE + 'sessionKeys: /etc/k.yaml\n', { VOUCH_SESSIONS: 'sealed', VOUCH_SESSION_KEYS_FILE: '/run/k.json' })
    expect([c.sessions, c.sessionKeys]).toEqual(['sealed', '/run/k.json'])
    expect(() => parseServerConfig(BASE + 'sessions: redis\n')).toThrow(/^config sessions: expected sealed or memory/)
  })

  it('reads every key and lets environment variables override them', () => {
    const c = parseServerConfig(BASE + 'listen: "0.0.0.0:9000"\nsvidTtl: 30m\ntls: false\nca: { certFile: /c.pem, keyFile: /c.key }\n', {
      VOUCH_LISTEN: '[::1]:7000',
      VOUCH_SVID_TTL: '90s',
      VOUCH_TLS: 'true',
      VOUCH_TRUST_DOMAIN: 'other.test',
      VOUCH_CA_KEY_FILE: '/k2',
    })
    expect(c).toMatchObject({
      trustDomain: 'other.test',
      host: '::1',
      port: 7000,
      svidTtlMs: 90_000,
      tls: true,
      ca: { certFile: '/c.pem', keyFile: '/k2' },
    })
    expect(parseServerConfig(BASE + 'svidTtl: 120\n').svidTtlMs).toBe(120_000)
    expect(parseServerConfig(BASE + 'jwtIssuer: https://vouch.example.org/\n').jwtIssuer).toBe('https://vouch.example.org')
    expect(parseServerConfig(BASE, { VOUCH_JWT_ISSUER: 'https://id.example.org/td' }).jwtIssuer).toBe('https://id.example.org/td')
  })

  it('names the key in every validation error', () => {
    const cases: [string, Record<string, string>, string][] = [
      ['dataDir: /x\npolicy: /p\n', {}, 'trustDomain'],
      [BASE.replace('trustDomain: example.org', 'trustDomain: "Bad Domain"'), {}, 'trustDomain'],
      ['trustDomain: a.b\npolicy: /p\n', {}, 'dataDir'],
      ['trustDomain: a.b\ndataDir: /x\n', {}, 'policy'],
      [BASE + 'listen: nohost\n', {}, 'listen'],
      [BASE + 'listen: "h:99999"\n', {}, 'listen'],
      [BASE + 'svidTtl: forever\n', {}, 'svidTtl'],
      [BASE, { VOUCH_SVID_TTL: '-1s' }, 'svidTtl'],
      [BASE + 'tls: maybe\n', {}, 'tls'],
      [BASE + 'tsl: false\n', {}, 'tsl'],
      [BASE + 'ca: { certFile: /c }\n', {}, 'ca.keyFile'],
      [BASE + 'jwtIssuer: http://vouch.example.org\n', {}, 'jwtIssuer'],
      [BASE, { VOUCH_JWT_ISSUER: 'https://x.example/?q=1' }, 'jwtIssuer'],
      ['[1, 2]', {}, '(file)'],
      ['a: [', {}, '(file)'],
    ]
    for (const [yaml, env, key] of cases) {
      let err: unknown
      try {
        parseServerConfig(yaml, env)
      } catch (e) {
        err = e
      }
      expect(err, yaml).toBeInstanceOf(ConfigError)
      expect((err as ConfigError).key).toBe(key)
      expect((err as ConfigError).message.startsWith(`config ${key}: `)).toBe(true)
    }
  })

  it('reads the renewal, rotation and policy-watch keys (days accepted) and their environment variables', () => {
    expect(parseServerConfig(BASE + 'tlsCertTtl: 7d\ntlsRenewBefore: 2d\ncaRotateBefore: 180d\npolicyWatch: false\n')).toMatchObject({
      tlsCertTtlMs: 7 * 86_400_000,
      tlsRenewBeforeMs: 2 * 86_400_000,
      caRotateBeforeMs: 180 * 86_400_000,
      policyWatch: false,
    })
    expect(
      parseServerConfig(BASE, {
        VOUCH_TLS_CERT_TTL: '1h',
        VOUCH_TLS_RENEW_BEFORE: '10m',
        VOUCH_CA_ROTATE_BEFORE: '30d',
        VOUCH_POLICY_WATCH: 'true',
      }),
    ).toMatchObject({ tlsCertTtlMs: 3_600_000, tlsRenewBeforeMs: 600_000, caRotateBeforeMs: 30 * 86_400_000, policyWatch: true })
    for (const [yaml, key] of [
      ['tlsCertTtl: soon\n', 'tlsCertTtl'],
      ['tlsCertTtl: 1h\ntlsRenewBefore: 1h\n', 'tlsRenewBefore'],
      ['caRotateBefore: 0\n', 'caRotateBefore'],
      // half the 10-year CA lifetime or more would rotate again after every rotation
      ['caRotateBefore: 1825d\n', 'caRotateBefore'],
      ['caRotateBefore: 4000d\n', 'caRotateBefore'],
      // checked against the default 30-day lifetime when only the lead is given
      ['tlsRenewBefore: 30d\n', 'tlsRenewBefore'],
      ['policyWatch: often\n', 'policyWatch'],
    ] as const) {
      expect(() => parseServerConfig(BASE + yaml), yaml).toThrow(`config ${key}: `)
    }
  })
  it('serverNames: DNS names and IP addresses for the listener certificate; VOUCH_SERVER_NAMES comma-separated; bounded', () => {
    expect(parseServerConfig(BASE).serverNames).toBeUndefined()
    expect(parseServerConfig(BASE + 'serverNames: [vouch.example.net, 10.0.0.5, "2001:db8::5"]\n').serverNames).toEqual([
      'vouch.example.net',
      '10.0.0.5',
      '2001:db8::5',
    ])
    expect(parseServerConfig(BASE + 'serverNames: [a.test]\n', { VOUCH_SERVER_NAMES: 'lb.example.net, 10.0.0.9' }).serverNames).toEqual([
      'lb.example.net',
      '10.0.0.9',
    ])
    const error = (yaml: string, env: Record<string, string> = {}) => {
      try {
        parseServerConfig(BASE + yaml, env)
      } catch (e) {
        expect(e).toBeInstanceOf(ConfigError)
        return (e as Error).message
      }
      throw new Error('no error')
    }
    // one name as a string is a list of one
    expect(parseServerConfig(BASE + 'serverNames: vouch.example.net\n').serverNames).toEqual(['vouch.example.net'])
    expect(error('serverNames: [vouch.example.net, "*.example.net"]\n')).toMatch(
      /^config serverNames: \[1\]: expected a DNS name \(labels of letters, digits and inner '-', dot-separated\) or an IP address, found "\*\.example\.net"$/,
    )
    expect(error('serverNames: [a.test, 7]\n')).toBe('config serverNames: [1]: expected a DNS name or an IP address, found 7')
    expect(error('', { VOUCH_SERVER_NAMES: 'a.test,,b.test' })).toBe(
      'config serverNames: [1]: expected a DNS name or an IP address, found ""',
    )
    expect(error('serverNames: { a: 1 }\n')).toMatch(/^config serverNames: expected a list of up to 32 DNS names or IP addresses, found/)
    const many = Array.from({ length: 33 }, (_, i) => `n${i}.test`).join(', ')
    expect(error(`serverNames: [${many}]\n`)).toMatch(/^config serverNames: expected a list of up to 32 /)
    expect(parseServerConfig(BASE + `serverNames: [${many.split(', ').slice(0, 32).join(', ')}]\n`).serverNames).toHaveLength(32)
  })
})
