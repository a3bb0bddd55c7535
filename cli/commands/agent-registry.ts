/**
 * `vouch agent list|show|ban|unban`: the agent registry, read and changed directly in the data
 * dir's SQLite database (agents.db), so it works with the server stopped or running (the server
 * reads the banned flag from the database on every attestation).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs, option, UsageError, jsonOutput } from '../args.ts'
import { EXIT_INVALID, EXIT_OK, type Command, type Io } from '../command.ts'
import { AgentRegistry, type AgentRecord } from '../../server/registry/registry.ts'
import { parseServerConfig } from '../../server/config.ts'
import type { SqlDatabase } from '../../server/registry/sql.ts'

const COMMON = '--config FILE | --data-dir DIR  [--output json]'

async function openRegistry(argv: string[], positionals: number): Promise<{ registry: AgentRegistry; ids: string[]; json: boolean }> {
  const args = parseArgs(argv, { options: ['config', 'data-dir', 'output'] })
  const output = jsonOutput(args) ? 'json' : 'text'
  if (args.positionals.length !== positionals) throw new UsageError(positionals === 0 ? 'unexpected arguments' : 'expected one SPIFFE ID')
  const dataDirOpt = option(args, 'data-dir')
  const configPath = option(args, 'config')
  if ((dataDirOpt === undefined) === (configPath === undefined)) throw new UsageError('give one of --config or --data-dir')
  const dataDir = dataDirOpt ?? parseServerConfig(readFileSync(configPath!, 'utf8'), process.env).dataDir
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
  path: ['agent', 'list'],
  summary: 'list attested agents from the registry',
  usage: `vouch agent list ${COMMON}`,
  async run(argv, io) {
    const { registry, json } = await openRegistry(argv, 0)
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
  path: ['agent', 'show'],
  summary: 'show one agent of the registry',
  usage: `vouch agent show ${COMMON} SPIFFE_ID`,
  async run(argv, io) {
    const { registry, ids, json } = await openRegistry(argv, 1)
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
    path: ['agent', verb],
    summary: banned ? 'ban an agent: its next attestation is refused' : 'lift an agent ban',
    usage: `vouch agent ${verb} ${COMMON} SPIFFE_ID`,
    async run(argv: string[], io: Io) {
      const { registry, ids, json } = await openRegistry(argv, 1)
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
