/**
 * The `vouch` command itself (cli/main.ts): help for the whole command, for a group and for a
 * command with its config keys; the version from package.json; usage errors as JSON under
 * `--output json`; one clear line for an unreadable config; a command table that loads lazily.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { AGENT_CONFIG_KEYS } from '../../agent/config.ts'
import { CLI_ERROR_CODES } from '../../cli/args.ts'
import { commands } from '../../cli/commands/index.ts'
import { main, packageVersion } from '../../cli/main.ts'
import { serverConfigKeys } from '../../server/config.ts'

const ROOT = resolve(import.meta.dirname, '../..')

async function run(...argv: string[]) {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

const names = (prefix: string) => commands.map((c) => c.path.join(' ')).filter((n) => n.startsWith(`${prefix} `))

describe('vouch --help, group help and command help', () => {
  it('vouch --help lists every command with its summary (exit 0); no arguments prints it on stderr (exit 2)', async () => {
    const r = await run('--help')
    expect(r.code).toBe(0)
    const width = Math.max(...commands.map((c) => c.path.join(' ').length))
    for (const c of commands) expect(r.out).toContain(`  ${c.path.join(' ').padEnd(width)}  ${c.summary}`)
    expect(await run('-h')).toEqual(r)
    const bare = await run()
    expect([bare.code, bare.out, bare.err]).toEqual([2, '', r.out])
  })

  it('vouch ek|devid|verify|bundle --help list exactly their subcommands', async () => {
    for (const group of ['ek', 'devid', 'verify', 'bundle', 'credential', 'policy']) {
      const r = await run(group, '--help')
      expect(r.code, group).toBe(0)
      const listed = r.out
        .split('\n')
        .filter((l) => l.startsWith(`  ${group} `))
        .map((l) => l.trim().split(/\s{2,}/)[0])
      expect(listed, group).toEqual(names(group))
    }
    expect(names('verify')).toEqual(['verify chain', 'verify jwt-svid', 'verify quote', 'verify x509-svid'])
  })

  it('a group without a command prints its help on stderr (exit 2); an unknown subcommand names the group', async () => {
    const r = await run('verify')
    expect([r.code, r.out]).toEqual([2, ''])
    expect(r.err).toContain('verify x509-svid')
    const unknown = await run('verify', 'nope')
    expect([unknown.code, unknown.err]).toEqual([2, 'vouch: unknown command "verify nope"; run vouch verify --help'])
  })

  it('vouch agent --help: the agent usage, every agent config key and the registry subcommands', async () => {
    const r = await run('agent', '--help')
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^vouch agent: run the node agent/)
    expect(r.out).toContain('usage: vouch agent --config FILE [--once]')
    for (const k of AGENT_CONFIG_KEYS) {
      const short = k.key.replace(/^agent\.attestors\[\]\./, '').replace(/^agent\./, '')
      expect(r.out).toMatch(new RegExp(`^ +${short.replace(/[.[\]]/g, '\\$&')} +${k.doc.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'))
    }
    for (const verb of ['ban', 'build-native', 'list', 'show', 'unban']) expect(r.out).toMatch(new RegExp(`^  agent ${verb} +\\S`, 'm'))
  })

  it('vouch server --help lists every config key with the environment variable that overrides it', async () => {
    const r = await run('server', '--help')
    expect(r.code).toBe(0)
    const keys = serverConfigKeys()
    expect(keys.map((k) => k.key)).toEqual(expect.arrayContaining(['trustDomain', 'dataDir', 'policy', 'ca.certFile', 'ca.keyFile']))
    for (const k of keys) expect(r.out).toMatch(new RegExp(`^  ${k.key.replace('.', '\\.')} +${k.env ?? ''}`, 'm'))
  })

  it('vouch agent list|show|ban|unban --help name the server config with --server-config', async () => {
    for (const verb of ['list', 'show', 'ban', 'unban']) {
      const r = await run('agent', verb, '--help')
      expect(r.code).toBe(0)
      expect(r.out).toContain(`usage: vouch agent ${verb} --server-config FILE | --data-dir DIR`)
      expect(r.out).toMatch(/--config FILE +deprecated spelling of --server-config/)
    }
  })

  it('every table entry loads a command whose usage starts with its own path', async () => {
    for (const c of commands) {
      const command = await c.load()
      expect(command.usage.startsWith(`vouch ${c.path.join(' ')}`), c.path.join(' ')).toBe(true)
      expect(typeof command.run).toBe('function')
    }
  })
})

describe('vouch --version', () => {
  it('--version and -v print the version of package.json', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
    expect(packageVersion()).toBe(version)
    expect(await run('--version')).toEqual({ code: 0, out: `vouch ${version}`, err: '' })
    expect(await run('-v')).toEqual({ code: 0, out: `vouch ${version}`, err: '' })
    expect(JSON.parse((await run('-v', '--output', 'json')).out)).toEqual({ version })
  })
})

describe('errors under --output json', () => {
  it('usage errors are {"error":{"code":"ERR_USAGE",...}} on stdout, exit 2, nothing on stderr', async () => {
    const cases: [string[], string][] = [
      [['nope', '--output', 'json'], 'unknown command "nope"; run vouch --help'],
      [['verify', '--output=json'], 'vouch verify needs a command: chain, jwt-svid, quote, x509-svid'],
      [['verify', 'chain', '--output', 'json'], '--anchors is required'],
      [['verify', 'chain', '--bogus', '--output', 'json'], 'unknown option --bogus'],
      [['ek', 'hash', '--output', 'json'], 'expected one FILE'],
      [['verify', 'quote', '--output', 'json', '--nonce', 'zz'], '--nonce must be hex'],
    ]
    for (const [argv, message] of cases) {
      const r = await run(...argv)
      expect([r.code, r.err, JSON.parse(r.out)], argv.join(' ')).toEqual([2, '', { error: { code: 'ERR_USAGE', message } }])
    }
  })

  it('the same mistakes in text are one line on stderr with the usage', async () => {
    const r = await run('verify', 'chain', '--bogus')
    expect(r.code).toBe(2)
    expect(r.out).toBe('')
    expect(r.err.split('\n')[0]).toBe('vouch verify chain: unknown option --bogus')
    expect(r.err.split('\n')[1]).toMatch(/^usage: vouch verify chain --anchors FILE/)
  })

  it('every code the CLI prints is documented in docs/cli.md', () => {
    const doc = readFileSync(join(ROOT, 'docs/cli.md'), 'utf8')
    for (const code of Object.keys(CLI_ERROR_CODES)) expect(doc).toContain(`\`${code}\``)
  })
})

describe('an unreadable config file is one clear line, not a raw ENOENT', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-cli-main-'))
  const gone = join(dir, 'gone.yaml')

  it('vouch server, vouch agent and vouch agent list (text: stderr; json: stdout)', async () => {
    const cases: [string[], string][] = [
      [['server', '--config', gone], `read server config ${gone}: no such file or directory`],
      [['agent', '--config', gone, '--once'], `read agent config ${gone}: no such file or directory`],
      [['agent', 'list', '--server-config', gone], `read server config ${gone}: no such file or directory`],
      [['server', '--config', dir], `read server config ${dir}: is a directory`],
    ]
    for (const [argv, message] of cases) {
      const text = await run(...argv)
      expect([text.code, text.out, text.err]).toEqual([
        2,
        '',
        `vouch ${argv[0] === 'server' ? 'server' : argv[1] === 'list' ? 'agent list' : 'agent'}: ${message}`,
      ])
      const json = await run(...argv, '--output', 'json')
      expect([json.code, JSON.parse(json.out)]).toEqual([2, { error: { code: 'ERR_FILE_UNREADABLE', message } }])
    }
  })

  it('a config that does not parse is ERR_CONFIG naming the key', async () => {
    const bad = join(dir, 'agent.yaml')
    writeFileSync(bad, 'agent:\n  server: https://127.0.0.1:1\n  attestors: []\n')
    const r = await run('agent', '--config', bad)
    expect([r.code, r.err]).toEqual([2, 'vouch agent: agent.attestors must list at least one attestor'])
  })
})

describe('lazy loading', () => {
  const IMPORT = /(?:^|\n)\s*(?:import|export)\s(?!type\s)[^'"]*?from\s*['"]([^'"]+)['"]/g

  /** Every module cli/main.ts loads at start: its static imports, transitively (type-only imports excluded). */
  function staticGraph(entry: string): string[] {
    const seen = new Set<string>()
    const visit = (file: string) => {
      if (seen.has(file)) return
      seen.add(file)
      for (const m of readFileSync(join(ROOT, file), 'utf8').matchAll(IMPORT)) {
        const spec = m[1]!
        if (spec.startsWith('.')) visit(relative(ROOT, resolve(ROOT, dirname(file), spec)))
        else seen.add(spec)
      }
    }
    visit(entry)
    return [...seen].sort()
  }

  it('vouch starts with the command table only: no command module, nothing of core/, server/ or agent/', () => {
    expect(staticGraph('cli/main.ts')).toEqual([
      'cli/args.ts',
      'cli/command.ts',
      'cli/commands/index.ts',
      'cli/fs-errors.ts',
      'cli/main.ts',
      'node:fs',
    ])
  })

  it('the table imports each command module with import() in its load()', () => {
    const text = readFileSync(join(ROOT, 'cli/commands/index.ts'), 'utf8')
    const dynamic = [...text.matchAll(/import\('\.\/([a-z0-9-]+)\.ts'\)/g)].map((m) => m[1])
    expect(dynamic).toHaveLength(commands.length)
  })
})
