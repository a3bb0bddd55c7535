// agent.servers: several URLs of one service (replicas) the agent fails over between; agent.server
// (one URL) keeps working and is the first of the list.
import { describe, expect, it } from 'vitest'
import { AGENT_CONFIG_KEYS, ConfigError, MAX_SERVERS, parseAgentConfig } from '../../agent/config.ts'

const doc = (servers: string, extra = '') => `agent:\n${servers}${extra}  attestors:\n    - type: tpm_ek\n`
const refused = (text: string, insecureHttp = false): string => {
  try {
    parseAgentConfig(text, 'config', { insecureHttp })
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError)
    return (e as Error).message
  }
  throw new Error('accepted')
}

describe('agent config: servers', () => {
  it('agent.server alone is a list of one', () => {
    const c = parseAgentConfig(doc('  server: https://a.example:8081\n'))
    expect([c.server, c.servers]).toEqual(['https://a.example:8081', ['https://a.example:8081']])
  })

  it('agent.servers keeps its order; server is the first', () => {
    const c = parseAgentConfig(doc('  servers: [https://a.example:8081, https://b.example:8081, https://c.example]\n'))
    expect(c.servers).toEqual(['https://a.example:8081', 'https://b.example:8081', 'https://c.example'])
    expect(c.server).toBe('https://a.example:8081')
  })

  it('refuses both keys, an empty or too long list, a repeated URL and a bad URL, naming the key', () => {
    expect(refused(doc('  server: https://a.example\n  servers: [https://b.example]\n'))).toBe(
      'agent.server and agent.servers: give one of them',
    )
    expect(refused(doc('  servers: []\n'))).toBe(`agent.servers must list 1 to ${MAX_SERVERS} server URLs`)
    expect(refused(doc('  servers: https://a.example\n'))).toBe(`agent.servers must list 1 to ${MAX_SERVERS} server URLs`)
    const many = Array.from({ length: MAX_SERVERS + 1 }, (_, i) => `https://r${i}.example`).join(', ')
    expect(refused(doc(`  servers: [${many}]\n`))).toBe(`agent.servers must list 1 to ${MAX_SERVERS} server URLs`)
    expect(refused(doc('  servers: [https://a.example, https://a.example]\n'))).toBe('agent.servers lists a URL twice')
    expect(refused(doc('  servers: [https://a.example, "not a url"]\n'))).toBe('agent.servers[1] "not a url" is not a URL')
    expect(refused(doc('  servers: [https://a.example, {x: 1}]\n'))).toBe('agent.servers[1] must be a string')
    expect(refused(doc(''))).toBe('agent.server is required')
  })

  it('every server is held to the scheme rule: one http:// URL is refused without insecureHttp', () => {
    const text = doc('  servers: [https://a.example, http://b.example:8081]\n')
    expect(refused(text)).toMatch(/^agent\.server "http:\/\/b\.example:8081" is http:\/\//)
    expect(parseAgentConfig(text, 'config', { insecureHttp: true }).servers).toHaveLength(2)
  })

  it('vouch agent --help lists agent.servers', () => {
    expect(AGENT_CONFIG_KEYS.map((k) => k.key)).toContain('agent.servers')
  })
})
