/**
 * `vouch entry` against the database the server config names: the data dir's agents.db, or the
 * PostgreSQL `database:` (the same commands, one suite run on both backends; PostgreSQL is skipped
 * with the reason where it is missing).
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openPostgres } from '../../../server/entry/postgres.ts'
import { postgresBackend, sqliteBackend } from '../../support/registry-backends.ts'
import { runMain } from '../run-main.ts'

const run = runMain

/** A server config in a fresh dir, with `database:` when given; its data dir is `data` beside it. */
function serverConfig(database?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-cli-entry-'))
  const path = join(dir, 'server.yaml')
  writeFileSync(
    path,
    `trustDomain: example.org\ndataDir: ${join(dir, 'data')}\npolicy: ${join(dir, 'policy.yaml')}\n${database ? `database: ${database}\n` : ''}`,
  )
  return path
}

const HASH = 'cd'.repeat(32)

// one PostgreSQL for the file
const pg = postgresBackend()
beforeAll(async () => {
  if (!pg.missing) await pg.setup()
})
afterAll(() => pg.teardown())

describe.each([sqliteBackend, pg])('vouch entry create|list|show|delete on $name', (backend) => {
  it.skipIf(backend.missing)(
    'creates (parent ID and parent selectors), lists, shows and deletes in the database of --server-config',
    async () => {
      const cfg = serverConfig(backend.name === 'postgres' ? await backend.migrated() : undefined)
      const created = await run([
        'entry',
        'create',
        '--server-config',
        cfg,
        '--output',
        'json',
        '--spiffe-id',
        'spiffe://example.org/web',
        '--parent',
        'spiffe://example.org/agent/1',
        '--selector',
        'unix:uid:1000',
        `--selector=unix:sha256:${HASH}`,
        '--x509-ttl',
        '600',
        '--jwt-ttl',
        '300',
        '--dns',
        'web.example.org',
        '--dns',
        'www.example.org',
      ])
      expect(created.err).toEqual([])
      expect(created.code).toBe(0)
      const a = JSON.parse(created.out[0]!) as Record<string, unknown>
      expect(a).toEqual({
        id: expect.stringMatching(/^[0-9a-f]{32}$/),
        spiffeId: 'spiffe://example.org/web',
        parentId: 'spiffe://example.org/agent/1',
        parentSelectors: [],
        selectors: [`unix:sha256:${HASH}`, 'unix:uid:1000'],
        x509SvidTtl: 600,
        jwtSvidTtl: 300,
        dnsNames: ['web.example.org', 'www.example.org'],
        createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      })
      const fleet = await run([
        'entry',
        'create',
        '--server-config',
        cfg,
        '--spiffe-id',
        'spiffe://example.org/db',
        '--parent-selector',
        'tpm_devid:issuer:cn:Fleet CA',
        '--selector',
        'unix:gid:50',
      ])
      expect(fleet.code).toBe(0)
      expect(fleet.out[0]).toMatch(/^created entry [0-9a-f]{32}\n/)
      const bId = /^created entry ([0-9a-f]{32})/.exec(fleet.out[0]!)![1]!
      const listed = await run(['entry', 'list', '--server-config', cfg])
      expect(listed.out).toEqual([
        `${bId}\tspiffe://example.org/db\ttpm_devid:issuer:cn:Fleet CA\tunix:gid:50`,
        `${a.id}\tspiffe://example.org/web\tspiffe://example.org/agent/1\tunix:sha256:${HASH},unix:uid:1000`,
      ])
      expect(JSON.parse((await run(['entry', 'list', '--server-config', cfg, '--output', 'json'])).out[0]!)).toHaveLength(2)
      expect(JSON.parse((await run(['entry', 'show', '--server-config', cfg, '--output', 'json', a.id as string])).out[0]!)).toEqual(a)
      expect((await run(['entry', 'show', '--server-config', cfg, bId])).out[0]).toContain('parentSelectors: tpm_devid:issuer:cn:Fleet CA')
      expect(await run(['entry', 'delete', '--server-config', cfg, a.id as string])).toEqual({
        code: 0,
        out: [`deleted entry ${a.id}`],
        err: [],
      })
      expect(await run(['entry', 'show', '--server-config', cfg, a.id as string])).toEqual({
        code: 1,
        out: [],
        err: [`vouch entry show: ERR_ENTRY_NOT_FOUND: no entry "${a.id}"`],
      })
      expect((await run(['entry', 'delete', '--server-config', cfg, a.id as string])).code).toBe(1)
      expect((await run(['entry', 'list', '--server-config', cfg])).out).toHaveLength(1)
      // with PostgreSQL nothing is written to the data dir
      expect(existsSync(join(cfg, '..', 'data', 'agents.db'))).toBe(backend.name === 'sqlite')
    },
  )
})

describe('vouch entry against PostgreSQL', () => {
  it.skipIf(pg.missing)("VOUCH_DATABASE_URL names the database for a config without one; the server's store sees the entry", async () => {
    const url = await pg.migrated()
    const cfg = serverConfig()
    const made = await run(
      [
        'entry',
        'create',
        '--server-config',
        cfg,
        '--spiffe-id',
        'spiffe://example.org/w',
        '--parent',
        'spiffe://example.org/a',
        '--selector',
        'unix:uid:1',
      ],
      { VOUCH_DATABASE_URL: url },
    )
    expect(made.code).toBe(0)
    const id = /^created entry ([0-9a-f]{32})/.exec(made.out[0]!)![1]!
    const { entries, close } = await pg.openEntries(url)
    try {
      expect((await entries.listForAgent('spiffe://example.org/a', [])).map((e) => e.id)).toEqual([id])
    } finally {
      await close()
    }
    // without the override the same config means the (empty) data dir
    expect((await run(['entry', 'list', '--server-config', cfg])).out).toEqual([])
  })

  it.skipIf(pg.missing)('the CLI does not migrate a shared database: an unmigrated one is refused and left as it was', async () => {
    const url = await pg.fresh()
    for (const argv of [
      ['entry', 'list', '--server-config', serverConfig(url)],
      ['agent', 'list', '--server-config', serverConfig(url)],
    ]) {
      const r = await run(argv)
      expect(r.code).not.toBe(0)
      expect(r.err.join('\n')).toMatch(/schema version 0, older than this build's \d+: start a vouch server of this build/)
    }
    const db = await openPostgres(url)
    try {
      expect(await db.get("SELECT to_regclass('schema_migrations') IS NOT NULL AS present")).toEqual({ present: false })
    } finally {
      await db.close()
    }
  })

  it.skipIf(pg.missing)('an unreachable database is one clear error, not a hang', async () => {
    const url = (await pg.fresh()).replace(/\/[^/]+$/, '/no_such_database')
    const r = await run(['entry', 'list', '--server-config', serverConfig(url)])
    expect(r.code).not.toBe(0)
    expect(r.err.join('\n')).toMatch(/no_such_database/)
  })

  it('invalid entries exit 1 with the code and the field; usage mistakes exit 2', async () => {
    const cfg = serverConfig()
    const create = (...more: string[]) => run(['entry', 'create', '--server-config', cfg, ...more])
    expect(await create('--spiffe-id', 'spiffe://other.org/web', '--parent', 'spiffe://example.org/a', '--selector', 'unix:uid:1')).toEqual(
      {
        code: 1,
        out: [],
        err: ['vouch entry create: ERR_ENTRY_INVALID: spiffeId: "spiffe://other.org/web" is not in trust domain "example.org"'],
      },
    )
    expect(
      (await create('--spiffe-id', 'spiffe://example.org/w', '--parent', 'spiffe://example.org/a', '--selector', 'k8s:ns:x')).err,
    ).toEqual(['vouch entry create: ERR_ENTRY_SELECTOR_INVALID: selectors[0]: unknown workload selector type "k8s"; known: unix'])
    const many = Array.from({ length: 33 }, (_, i) => ['--selector', `unix:uid:${i}`]).flat()
    expect((await create('--spiffe-id', 'spiffe://example.org/w', '--parent', 'spiffe://example.org/a', ...many)).err[0]).toBe(
      'vouch entry create: ERR_ENTRY_LIMIT: selectors: 33 selectors, at most 32',
    )
    const ok = ['--spiffe-id', 'spiffe://example.org/w', '--parent', 'spiffe://example.org/a', '--selector', 'unix:uid:1']
    expect((await create(...ok)).code).toBe(0)
    expect((await create(...ok)).err[0]).toMatch(/^vouch entry create: ERR_ENTRY_EXISTS: entry [0-9a-f]{32} has the same/)
    expect((await create('--spiffe-id', 'spiffe://example.org/w', '--selector', 'unix:uid:1')).code).toBe(2)
    expect((await create('--spiffe-id', 'spiffe://example.org/w', '--parent', 'spiffe://example.org/a')).err[0]).toMatch(
      /--selector is required/,
    )
    expect((await create(...ok, '--x509-ttl', '1h')).err[0]).toMatch(/--x509-ttl expects whole seconds/)
    expect((await run(['entry', 'show', '--server-config', cfg])).code).toBe(2)
    expect((await run(['entry', 'list'])).err[0]).toMatch(/--server-config is required/)
  })
})
