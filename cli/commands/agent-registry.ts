/**
 * `vouch agent list|show|ban|unban`: the agent registry, read and changed directly in the server's
 * database (the config's `database:` PostgreSQL URL, else the data dir's SQLite agents.db), so it
 * works with the server stopped or running (every replica reads the banned flag from the database
 * on every attestation).
 */
import { parseArgs, option, UsageError, jsonOutput } from '../args.ts'
import { EXIT_INVALID, EXIT_OK, type Command, type Io } from '../command.ts'
import { readText } from '../files.ts'
import type { AgentRecord } from '../../server/registry/registry.ts'
import type { AgentStore } from '../../server/registry/store.ts'
import { openAgentStore, type OpenSqlite } from '../../server/entry/registry-open.ts'
import { ConfigError, parseServerConfig } from '../../server/config.ts'

const COMMON = '--server-config FILE | --data-dir DIR  [--output json]'
const HELP =
  "  --server-config FILE  the server's config file (vouch server --config FILE): its database (or dataDir's agents.db)\n" +
  '  --data-dir DIR        the server data dir itself\n' +
  '  --config FILE         deprecated spelling of --server-config (warns on stderr; removed in the next release)'

/** The server data dir named by --data-dir, or the dataDir and database of --server-config (or the deprecated --config). */
function databaseOf(args: ReturnType<typeof parseArgs>, verb: string, io: Io): { dataDir: string; database?: string } {
  const dataDir = option(args, 'data-dir')
  const deprecated = option(args, 'config')
  if (deprecated !== undefined) {
    io.err(
      `vouch agent ${verb}: --config is deprecated here, use --server-config (the server's config file); --config will be removed in the next release`,
    )
    if (option(args, 'server-config') !== undefined) throw new UsageError('give --server-config or its old spelling --config, not both')
  }
  const configPath = option(args, 'server-config') ?? deprecated
  if ((dataDir === undefined) === (configPath === undefined)) throw new UsageError('give one of --server-config or --data-dir')
  if (dataDir !== undefined) return { dataDir }
  try {
    const config = parseServerConfig(readText(configPath!, 'server config'), process.env)
    return config.database === undefined ? { dataDir: config.dataDir } : { dataDir: config.dataDir, database: config.database }
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(`${configPath}: ${e.message}`, 'ERR_CONFIG')
    throw e
  }
}

async function openRegistry(
  argv: string[],
  positionals: number,
  verb: string,
  io: Io,
): Promise<{ registry: AgentStore; ids: string[]; json: boolean }> {
  const args = parseArgs(argv, { options: ['server-config', 'config', 'data-dir', 'output'] })
  const output = jsonOutput(args) ? 'json' : 'text'
  if (args.positionals.length !== positionals) throw new UsageError(positionals === 0 ? 'unexpected arguments' : 'expected one SPIFFE ID')
  const where = databaseOf(args, verb, io)
  let openSqlite: OpenSqlite
  if (where.database !== undefined)
    openSqlite = () => {
      throw new Error('unreachable: PostgreSQL configured')
    }
  else if (process.versions.bun) openSqlite = (await import('../../server/entry/sqlite-bun.ts')).openSqliteBun
  else openSqlite = (await import('../../server/entry/sqlite-wasm.ts')).openSqliteWasm
  return { registry: await openAgentStore(where, openSqlite, { migrate: false }), ids: args.positionals, json: output === 'json' }
}

function view(a: AgentRecord) {
  return {
    spiffeId: a.spiffeId,
    attestorType: a.attestorType,
    attributes: a.attributes,
    firstAttestedAt: new Date(a.firstAttestedAt).toISOString(),
    lastAttestedAt: new Date(a.lastAttestedAt).toISOString(),
    attestations: a.attestations,
    banned: a.banned,
    svidSerial: a.svidSerial,
    svidExpiresAt: a.svidExpiresAt === null ? null : new Date(a.svidExpiresAt).toISOString(),
  }
}

export const agentList: Command = {
  usage: `vouch agent list ${COMMON}`,
  help: () => HELP,
  async run(argv, io) {
    const { registry, json } = await openRegistry(argv, 0, 'list', io)
    try {
      const agents = await registry.list()
      if (json) io.out(JSON.stringify(agents.map(view)))
      else
        for (const a of agents)
          io.out(`${a.spiffeId}\t${a.attestorType}\t${new Date(a.lastAttestedAt).toISOString()}${a.banned ? '\tBANNED' : ''}`)
      return EXIT_OK
    } finally {
      await registry.close()
    }
  },
}

export const agentShow: Command = {
  usage: `vouch agent show ${COMMON} SPIFFE_ID`,
  help: () => HELP,
  async run(argv, io) {
    const { registry, ids, json } = await openRegistry(argv, 1, 'show', io)
    try {
      const a = await registry.get(ids[0]!)
      if (!a) {
        io.err(`vouch agent show: no agent ${ids[0]}`)
        return EXIT_INVALID
      }
      io.out(
        json
          ? JSON.stringify(view(a))
          : Object.entries(view(a))
              .map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : v}`)
              .join('\n'),
      )
      return EXIT_OK
    } finally {
      await registry.close()
    }
  },
}

function banCommand(banned: boolean): Command {
  const verb = banned ? 'ban' : 'unban'
  return {
    usage: `vouch agent ${verb} ${COMMON} SPIFFE_ID`,
    help: () => HELP,
    async run(argv: string[], io: Io) {
      const { registry, ids, json } = await openRegistry(argv, 1, verb, io)
      try {
        if (!(await registry.setBanned(ids[0]!, banned))) {
          io.err(`vouch agent ${verb}: no agent ${ids[0]}`)
          return EXIT_INVALID
        }
        io.out(json ? JSON.stringify({ spiffeId: ids[0], banned }) : `${banned ? 'banned' : 'unbanned'} ${ids[0]}`)
        return EXIT_OK
      } finally {
        await registry.close()
      }
    },
  }
}

export const agentBan = banCommand(true)
export const agentUnban = banCommand(false)
