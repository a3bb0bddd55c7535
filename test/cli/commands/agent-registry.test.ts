import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../../cli/main.ts'
import { openSqliteWasm } from '../../../server/entry/sqlite-wasm.ts'
import { AgentRegistry } from '../../../server/registry/registry.ts'

async function run(argv: string[]) {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) })
  return { code, out, err }
}

function seeded(): string {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-cli-reg-'))
  const r = new AgentRegistry(openSqliteWasm(join(dir, 'agents.db')))
  r.recordAttestation({
    spiffeId: 'spiffe://example.org/a',
    attestorType: 'tpm_devid',
    attributes: { 'tpm_devid.certificate.serial_number': '01' },
    at: Date.UTC(2026, 0, 1),
    svidSerial: 'ab',
    svidExpiresAt: Date.UTC(2026, 0, 1, 1),
  })
  r.close()
  return dir
}

describe('vouch agent list|show|ban|unban', () => {
  it('lists, shows, bans and unbans against the data dir (text and json); the longest command path wins over `vouch agent`', async () => {
    const dir = seeded()
    expect(await run(['agent', 'list', '--data-dir', dir])).toEqual({
      code: 0,
      out: ['spiffe://example.org/a\ttpm_devid\t2026-01-01T00:00:00.000Z'],
      err: [],
    })
    const shown = await run(['agent', 'show', '--data-dir', dir, '--output', 'json', 'spiffe://example.org/a'])
    expect(JSON.parse(shown.out[0]!)).toEqual({
      spiffeId: 'spiffe://example.org/a',
      attestorType: 'tpm_devid',
      attributes: { 'tpm_devid.certificate.serial_number': '01' },
      firstAttestedAt: '2026-01-01T00:00:00.000Z',
      lastAttestedAt: '2026-01-01T00:00:00.000Z',
      attestations: 1,
      banned: false,
      svidSerial: 'ab',
      svidExpiresAt: '2026-01-01T01:00:00.000Z',
    })
    expect((await run(['agent', 'ban', '--data-dir', dir, 'spiffe://example.org/a'])).out).toEqual(['banned spiffe://example.org/a'])
    expect((await run(['agent', 'list', '--data-dir', dir])).out[0]).toMatch(/\tBANNED$/)
    expect((await run(['agent', 'unban', '--data-dir', dir, '--output', 'json', 'spiffe://example.org/a'])).out).toEqual([
      '{"spiffeId":"spiffe://example.org/a","banned":false}',
    ])
    expect((await run(['agent', 'list', '--data-dir', dir])).out[0]).not.toMatch(/BANNED/)
  })

  it('reads the data dir from --config; unknown agents exit 1; usage mistakes exit 2', async () => {
    const dir = seeded()
    const config = join(dir, 'server.yaml')
    writeFileSync(config, `trustDomain: example.org\ndataDir: ${dir}\npolicy: /nonexistent\n`)
    expect((await run(['agent', 'list', '--config', config])).out).toHaveLength(1)
    const missing = await run(['agent', 'show', '--data-dir', dir, 'spiffe://example.org/none'])
    expect(missing.code).toBe(1)
    expect(missing.err[0]).toMatch(/no agent spiffe:\/\/example.org\/none/)
    expect((await run(['agent', 'unban', '--data-dir', dir, 'spiffe://example.org/none'])).code).toBe(1)
    for (const argv of [
      ['agent', 'list'],
      ['agent', 'list', '--data-dir', dir, '--config', config],
      ['agent', 'show', '--data-dir', dir],
      ['agent', 'list', '--data-dir', dir, '--output', 'xml'],
    ]) {
      expect((await run(argv)).code, argv.join(' ')).toBe(2)
    }
  })
})
