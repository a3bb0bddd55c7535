/**
 * `vouch entry create|list|show|delete`: registration entries (docs/entries.md), read and changed
 * directly in the server's database named by the server config (its `database:` PostgreSQL URL or
 * VOUCH_DATABASE_URL, shared by every replica; else the data dir's agents.db), whose trust domain
 * every SPIFFE ID must belong to. Works with the server stopped or running (every replica reads
 * entries from the database on every request).
 */
import { mkdirSync, readFileSync } from 'node:fs'
import { parseArgs, option, UsageError, jsonOutput, requireOption } from '../args.ts'
import { EXIT_OK, type Command } from '../command.ts'
import { EntryError } from '../../server/entries/errors.ts'
import { parseServerConfig } from '../../server/config.ts'
import { checkEntryInput, type RegistrationEntry } from '../../server/entries/validate.ts'
import { type EntryStore, entryJson } from '../../server/registry/entry-store.ts'
import { openEntryStore, type OpenSqlite } from '../../server/entry/registry-open.ts'

const COMMON = '--server-config FILE [--output json]'
const REPEATED = ['parent-selector', 'selector', 'dns']

/** Pulls every `--name value` / `--name=value` of the repeatable options out of argv. */
function takeRepeated(argv: string[]): { rest: string[]; lists: Map<string, string[]> } {
  const lists = new Map<string, string[]>(REPEATED.map((n) => [n, []]))
  const rest: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--') {
      rest.push(...argv.slice(i))
      break
    }
    const eq = a.indexOf('=')
    const name = a.startsWith('--') ? a.slice(2, eq < 0 ? undefined : eq) : ''
    const list = lists.get(name)
    if (!list) {
      rest.push(a)
      continue
    }
    const value = eq >= 0 ? a.slice(eq + 1) : argv[++i]
    if (value === undefined) throw new UsageError(`--${name} needs a value`)
    list.push(value)
  }
  return { rest, lists }
}

interface Opened {
  readonly store: EntryStore
  readonly db: { close(): Promise<void> }
  readonly trustDomain: string
}

async function openEntries(configPath: string): Promise<Opened> {
  const config = parseServerConfig(readFileSync(configPath, 'utf8'), process.env)
  let openSqlite: OpenSqlite
  if (config.database !== undefined)
    openSqlite = () => {
      throw new Error('unreachable: PostgreSQL configured')
    }
  else {
    // entries may be made before the server's first start
    mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
    if (process.versions.bun) openSqlite = (await import('../../server/entry/sqlite-bun.ts')).openSqliteBun
    else openSqlite = (await import('../../server/entry/sqlite-wasm.ts')).openSqliteWasm
  }
  const { entries, close } = await openEntryStore(config, openSqlite, { migrate: false })
  return { store: entries, db: { close }, trustDomain: config.trustDomain }
}

export function entryView(e: RegistrationEntry) {
  return { ...entryJson(e), createdAt: new Date(e.createdAt).toISOString() }
}

function text(e: RegistrationEntry): string {
  return Object.entries(entryView(e))
    .map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(' ') : v === null ? '-' : v}`)
    .join('\n')
}

function seconds(flag: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  if (!/^\d+$/.test(v)) throw new UsageError(`--${flag} expects whole seconds, found ${JSON.stringify(v)}`)
  return Number(v)
}

export const entryCreate: Command = {
  usage:
    'vouch entry create --server-config FILE --spiffe-id ID (--parent ID | --parent-selector SEL...) --selector SEL... [--x509-ttl S] [--jwt-ttl S] [--dns NAME...] [--output json]',
  async run(argv, io) {
    const { rest, lists } = takeRepeated(argv)
    const args = parseArgs(rest, { options: ['server-config', 'spiffe-id', 'parent', 'x509-ttl', 'jwt-ttl', 'output'] })
    const json = jsonOutput(args)
    if (args.positionals.length > 0) throw new UsageError('unexpected arguments')
    const configPath = requireOption(args, 'server-config')
    const spiffeId = requireOption(args, 'spiffe-id')
    const parent = option(args, 'parent')
    const parentSelectors = lists.get('parent-selector')!
    if ((parent === undefined) === (parentSelectors.length === 0))
      throw new UsageError('give --parent or --parent-selector (one or more), not both')
    const selectors = lists.get('selector')!
    if (selectors.length === 0) throw new UsageError('--selector is required (one or more)')
    const x509 = seconds('x509-ttl', option(args, 'x509-ttl'))
    const jwt = seconds('jwt-ttl', option(args, 'jwt-ttl'))
    const { store, db, trustDomain } = await openEntries(configPath)
    try {
      const spec = checkEntryInput(
        {
          spiffeId,
          ...(parent !== undefined ? { parentId: parent } : { parentSelectors }),
          selectors,
          ...(x509 !== undefined ? { x509SvidTtlSeconds: x509 } : {}),
          ...(jwt !== undefined ? { jwtSvidTtlSeconds: jwt } : {}),
          dnsNames: lists.get('dns')!,
        },
        trustDomain,
      )
      const entry = await store.create(spec, Date.now())
      io.out(json ? JSON.stringify(entryView(entry)) : `created entry ${entry.id}\n${text(entry)}`)
      return EXIT_OK
    } finally {
      await db.close()
    }
  },
}

export const entryList: Command = {
  usage: `vouch entry list ${COMMON}`,
  async run(argv, io) {
    const args = parseArgs(argv, { options: ['server-config', 'output'] })
    const json = jsonOutput(args)
    if (args.positionals.length > 0) throw new UsageError('unexpected arguments')
    const { store, db } = await openEntries(requireOption(args, 'server-config'))
    try {
      const entries = await store.list()
      if (json) io.out(JSON.stringify(entries.map(entryView)))
      else for (const e of entries) io.out(`${e.id}\t${e.spiffeId}\t${e.parentId ?? e.parentSelectors.join(',')}\t${e.selectors.join(',')}`)
      return EXIT_OK
    } finally {
      await db.close()
    }
  },
}

function oneId(argv: string[], verb: string) {
  const args = parseArgs(argv, { options: ['server-config', 'output'] })
  const json = jsonOutput(args)
  if (args.positionals.length !== 1) throw new UsageError(`expected one entry ID to ${verb}`)
  return { json, id: args.positionals[0]!, configPath: requireOption(args, 'server-config') }
}

export const entryShow: Command = {
  usage: `vouch entry show ${COMMON} ENTRY_ID`,
  async run(argv, io) {
    const { json, id, configPath } = oneId(argv, 'show')
    const { store, db } = await openEntries(configPath)
    try {
      const e = await store.get(id)
      if (!e) throw new EntryError('ERR_ENTRY_NOT_FOUND', `no entry ${JSON.stringify(id.slice(0, 64))}`)
      io.out(json ? JSON.stringify(entryView(e)) : text(e))
      return EXIT_OK
    } finally {
      await db.close()
    }
  },
}

export const entryDelete: Command = {
  usage: `vouch entry delete ${COMMON} ENTRY_ID`,
  async run(argv, io) {
    const { json, id, configPath } = oneId(argv, 'delete')
    const { store, db } = await openEntries(configPath)
    try {
      if (!(await store.delete(id))) throw new EntryError('ERR_ENTRY_NOT_FOUND', `no entry ${JSON.stringify(id.slice(0, 64))}`)
      io.out(json ? JSON.stringify({ id, deleted: true }) : `deleted entry ${id}`)
      return EXIT_OK
    } finally {
      await db.close()
    }
  },
}
