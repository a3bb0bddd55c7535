import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../server/config.ts'
import { parseSessionKeys } from '../../server/session-keys.ts'

const k = (b: number) => Buffer.alloc(32, b).toString('base64')

describe('session keys (sealed sessions keyring)', () => {
  it('reads a YAML or JSON list: one sealing key, others for opening, retired ones', () => {
    const yaml = parseSessionKeys(
      `- { id: k2, key: ${k(2)}, seal: true }\n- { id: k1, key: ${k(1)} }\n- { id: k0, key: ${k(9)}, retired: true }\n`,
      'sessionKeys',
    )
    expect(yaml.sealKey.id).toBe('k2')
    expect([...yaml.keys.keys()]).toEqual(['k2', 'k1', 'k0'])
    expect(yaml.keys.get('k0')!.retired).toBe(true)
    expect(yaml.keys.get('k1')!.key).toEqual(new Uint8Array(32).fill(1))
    const json = parseSessionKeys(JSON.stringify([{ id: 'a', key: k(3), seal: true }]), 'VOUCH_SESSION_KEYS')
    expect(json.sealKey.id).toBe('a')
  })

  it('refuses bad lists naming the entry, never echoing a key', () => {
    const cases: [string, RegExp][] = [
      ['{}', /sessionKeys: expected a non-empty list/],
      ['[]', /sessionKeys: expected a non-empty list/],
      [`- { id: a, key: ${k(1)} }`, /exactly one key must have seal: true/],
      [`- { id: a, key: "${Buffer.alloc(16, 7).toString('base64')}", seal: true }`, /must be 32 bytes/],
      ['- { id: a, key: "!!!", seal: true }', /sessionKeys\[0\]\.key: expected base64 of 32 bytes/],
      [`- { id: 3, key: ${k(1)}, seal: true }`, /sessionKeys\[0\]\.id: expected a string/],
      [`- { id: a, key: ${k(1)}, seal: yes please }`, /sessionKeys\[0\]\.seal: expected true or false/],
    ]
    for (const [text, re] of cases) {
      let err: unknown
      try {
        parseSessionKeys(text, 'sessionKeys')
      } catch (e) {
        err = e
      }
      expect(err, text).toBeInstanceOf(ConfigError)
      expect((err as Error).message).toMatch(re)
      expect((err as Error).message).not.toContain(k(1))
    }
  })
})
