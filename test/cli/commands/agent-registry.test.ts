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

  it('reads the data dir from --server-config; unknown agents exit 1; usage mistakes exit 2', async () => {
    const dir = seeded()
    const config = join(dir, 'server.yaml')
    writeFileSync(config, `trustDomain: example.org\ndataDir: ${dir}\npolicy: /nonexistent\n`)
    const listed = await run(['agent', 'list', '--server-config', config])
    expect([listed.out, listed.err]).toEqual([[expect.stringMatching(/^spiffe:\/\/example.org\//)], []])
    const missing = await run(['agent', 'show', '--data-dir', dir, 'spiffe://example.org/none'])
    expect(missing.code).toBe(1)
    expect(missing.err[0]).toMatch(/no agent spiffe:\/\/example.org\/none/)
    expect((await run(['agent', 'unban', '--data-dir', dir, 'spiffe://example.org/none'])).code).toBe(1)
    for (const argv of [
      ['agent', 'list'],
      ['agent', 'list', '--data-dir', dir, '--server-config', config],
      ['agent', 'list', '--server-config', config, '--config', config],
      ['agent', 'show', '--data-dir', dir],
      ['agent', 'list', '--data-dir', dir, '--output', 'xml'],
    ]) {
      expect((await run(argv)).code, argv.join(' ')).toBe(2)
    }
  })

  it('--config, the old spelling of --server-config, still works for one release and warns on stderr', async () => {
    const dir = seeded()
    const config = join(dir, 'server.yaml')
    writeFileSync(config, `trustDomain: example.org\ndataDir: ${dir}\npolicy: /nonexistent\n`)
    for (const verb of ['list', 'show']) {
      const argv = ['agent', verb, '--config', config, '--output', 'json', ...(verb === 'show' ? ['spiffe://example.org/none'] : [])]
      const r = await run(argv)
      expect(r.err[0]).toBe(
        `vouch agent ${verb}: --config is deprecated here, use --server-config (the server's config file); --config will be removed in the next release`,
      )
      if (verb === 'list') expect([r.code, JSON.parse(r.out[0]!)]).toEqual([0, [expect.objectContaining({ attestorType: 'tpm_devid' })]])
      else expect(r.code).toBe(1)
    }
  })

  it('an unreadable or invalid server config is one clear line (exit 2), JSON under --output json', async () => {
    const dir = seeded()
    const gone = join(dir, 'gone.yaml')
    let r = await run(['agent', 'list', '--server-config', gone])
    expect([r.code, r.err]).toEqual([2, [`vouch agent list: read server config ${gone}: no such file or directory`]])
    r = await run(['agent', 'list', '--server-config', gone, '--output', 'json'])
    expect([r.code, r.err, JSON.parse(r.out[0]!)]).toEqual([
      2,
      [],
      { error: { code: 'ERR_FILE_UNREADABLE', message: `read server config ${gone}: no such file or directory` } },
    ])
    const bad = join(dir, 'bad.yaml')
    writeFileSync(bad, 'trustDomain: example.org\ndataDir: /x\npolicy: /p\nsvidTtl: soon\n')
    r = await run(['agent', 'ban', '--server-config', bad, '--output', 'json', 'spiffe://example.org/a'])
    expect([r.code, JSON.parse(r.out[0]!).error]).toEqual([
      2,
      { code: 'ERR_CONFIG', message: expect.stringMatching(/config svidTtl: expected a positive duration/) },
    ])
  })
})
