import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { postgresBackend } from '../../support/registry-backends.ts'
import { runMain } from '../run-main.ts'

const run = runMain

const backend = postgresBackend()

describe('vouch agent list|show|ban|unban against PostgreSQL', () => {
  beforeAll(async () => {
    if (!backend.missing) await backend.setup()
  })
  afterAll(() => backend.teardown())

  it.skipIf(backend.missing)(
    'reads the database from --server-config (or VOUCH_DATABASE_URL) and bans where the server reads',
    async () => {
      const url = await backend.fresh()
      const seed = await backend.open(url)
      await seed.recordAttestation({
        spiffeId: 'spiffe://example.org/a',
        attestorType: 'tpm_devid',
        attributes: {},
        at: Date.UTC(2026, 0, 1),
      })
      const dir = mkdtempSync(join(tmpdir(), 'vouch-cli-pg-'))
      const config = join(dir, 'server.yaml')
      writeFileSync(config, `trustDomain: example.org\ndataDir: ${dir}\npolicy: ${dir}/p.yaml\ndatabase: ${url}\n`)
      expect(await run(['agent', 'list', '--server-config', config])).toEqual({
        code: 0,
        out: ['spiffe://example.org/a\ttpm_devid\t2026-01-01T00:00:00.000Z'],
        err: [],
      })
      expect((await run(['agent', 'ban', '--server-config', config, 'spiffe://example.org/a'])).out).toEqual([
        'banned spiffe://example.org/a',
      ])
      // the server's own handle (another connection) sees the ban at its next attestation
      expect(await seed.commitAttestation({ spiffeId: 'spiffe://example.org/a', attestorType: 'tpm_devid', attributes: {}, at: 5 })).toBe(
        'banned',
      )
      const shown = await run(['agent', 'show', '--server-config', config, '--output', 'json', 'spiffe://example.org/a'])
      expect(JSON.parse(shown.out[0]!)).toMatchObject({ spiffeId: 'spiffe://example.org/a', banned: true, attestations: 1 })
      expect((await run(['agent', 'unban', '--server-config', config, 'spiffe://example.org/a'])).code).toBe(0)
      expect(await seed.isBanned('spiffe://example.org/a')).toBe(false)
      expect((await run(['agent', 'show', '--server-config', config, 'spiffe://example.org/none'])).code).toBe(1)
      // the environment override names the database for a config without one
      const plain = join(dir, 'plain.yaml')
      writeFileSync(plain, `trustDomain: example.org\ndataDir: ${dir}/elsewhere\npolicy: ${dir}/p.yaml\n`)
      expect((await run(['agent', 'list', '--server-config', plain], { VOUCH_DATABASE_URL: url })).out).toHaveLength(1)
      await seed.close()
    },
  )

  it.skipIf(backend.missing)('an unreachable database is one clear error, not a hang', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vouch-cli-pg-'))
    const config = join(dir, 'server.yaml')
    const url = (await backend.fresh()).replace(/\/[^/]+$/, '/no_such_database')
    writeFileSync(config, `trustDomain: example.org\ndataDir: ${dir}\npolicy: ${dir}/p.yaml\ndatabase: ${url}\n`)
    const r = await run(['agent', 'list', '--server-config', config])
    expect(r.code).not.toBe(0)
    expect(r.err.join('\n')).toMatch(/no_such_database/)
  })
})
