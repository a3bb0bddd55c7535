/**
 * `vouch agent list|show|ban|unban`: the agent registry, read and changed directly in the data
 * dir's SQLite database (agents.db), so it works with the server stopped or running (the server
 * reads the banned flag from the database on every attestation).
 */
import { join } from 'node:path'
import { parseArgs, option, UsageError, jsonOutput } from '../args.ts'
import { EXIT_INVALID, EXIT_OK, type Command, type Io } from '../command.ts'
import { readText } from '../files.ts'
import { AgentRegistry, type AgentRecord } from '../../server/registry/registry.ts'
import { ConfigError, parseServerConfig } from '../../server/config.ts'
import type { SqlDatabase } from '../../server/registry/sql.ts'

const COMMON = '--server-config FILE | --data-dir DIR  [--output json]'
const HELP =
  "  --server-config FILE  the server's config file (vouch server --config FILE): its dataDir holds agents.db\n" +
  '  --data-dir DIR        the server data dir itself\n' +
  '  --config FILE         deprecated spelling of --server-config (warns on stderr; removed in the next release)'

/** The server data dir named by --data-dir, or by the dataDir of --server-config (or the deprecated --config). */
function dataDirOf(args: ReturnType<typeof parseArgs>, verb: string, io: Io): string {
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
  if (dataDir !== undefined) return dataDir
  try {
    return parseServerConfig(readText(configPath!, 'server config'), process.env).dataDir
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
): Promise<{ registry: AgentRegistry; ids: string[]; json: boolean }> {
  const args = parseArgs(argv, { options: ['server-config', 'config', 'data-dir', 'output'] })
  const output = jsonOutput(args) ? 'json' : 'text'
  if (args.positionals.length !== positionals) throw new UsageError(positionals === 0 ? 'unexpected arguments' : 'expected one SPIFFE ID')
  const dataDir = dataDirOf(args, verb, io)
  let db: SqlDatabase
  if (process.versions.bun) {
    const { openSqliteBun } = await import('../../server/entry/sqlite-bun.ts')
    db = openSqliteBun(join(dataDir, 'agents.db'))
  } else {
    const { openSqliteWasm } = await import('../../server/entry/sqlite-wasm.ts')
    db = openSqliteWasm(join(dataDir, 'agents.db'))
  }
  return { registry: new AgentRegistry(db), ids: args.positionals, json: output === 'json' }
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
      const agents = registry.list()
      if (json) io.out(JSON.stringify(agents.map(view)))
      else
        for (const a of agents)
          io.out(`${a.spiffeId}\t${a.attestorType}\t${new Date(a.lastAttestedAt).toISOString()}${a.banned ? '\tBANNED' : ''}`)
      return EXIT_OK
    } finally {
      registry.close()
    }
  },
}

export const agentShow: Command = {
  usage: `vouch agent show ${COMMON} SPIFFE_ID`,
  help: () => HELP,
  async run(argv, io) {
    const { registry, ids, json } = await openRegistry(argv, 1, 'show', io)
    try {
      const a = registry.get(ids[0]!)
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
      registry.close()
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
        if (!registry.setBanned(ids[0]!, banned)) {
          io.err(`vouch agent ${verb}: no agent ${ids[0]}`)
          return EXIT_INVALID
        }
        io.out(json ? JSON.stringify({ spiffeId: ids[0], banned }) : `${banned ? 'banned' : 'unbanned'} ${ids[0]}`)
        return EXIT_OK
      } finally {
        registry.close()
      }
    },
  }
}

export const agentBan = banCommand(true)
export const agentUnban = banCommand(false)
