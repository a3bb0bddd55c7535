/**
 * `vouch server --config FILE`: starts the attestation server (Node: @hono/node-server; Bun:
 * Bun.serve) and writes JSON lines, and only JSON lines, to stdout: its logs, the first of them
 * `{"msg":"Server listening","url":...}`. Stops on SIGINT/SIGTERM. With `workers: N` (Node) this
 * process is the primary of N workers (server/entry/cluster.ts), each of them this same command.
 */
import cluster from 'node:cluster'
import { jsonOutput, parseArgs, requireOption, UsageError } from '../args.ts'
import { EXIT_OK, type Command } from '../command.ts'
import { readText } from '../files.ts'
import { ConfigError, parseServerConfig, serverConfigKeys } from '../../server/config.ts'

const USAGE =
  'vouch server --config FILE [--output json]\n' +
  '  FILE           the server config (YAML); environment variables override its keys\n' +
  '  --output json  start-up errors as JSON on stdout too (the logs are JSON lines either way)'

/** What each key is; a key added to server/config.ts without a line here is still listed. */
const KEY_DOCS: Record<string, string> = {
  trustDomain: 'trust domain of the SVIDs it issues (required)',
  listen: 'host:port to listen on (default 127.0.0.1:8081)',
  serverNames:
    'more names for the listener certificate next to the listen host: DNS names and IP addresses (a load balancer, a virtual IP); env comma-separated',
  dataDir: 'CA files and the agent registry, agents.db (required)',
  policy: 'the AgentAttestation policy document (required)',
  svidTtl: 'X.509-SVID lifetime: 1h, 30m, 45s, 500ms or seconds (default 1h)',
  sessionTtl: 'attestation session lifetime (default 5m)',
  tls: 'serve HTTPS with a certificate of the server CA (default true; false for local tests only)',
  'ca.certFile': 'load the server CA certificate from this PEM file instead of creating one in dataDir',
  'ca.keyFile': 'the PKCS#8 PEM private key of ca.certFile',
  tlsCertTtl: 'listener certificate lifetime (default 30d); it is reissued before expiry with no restart',
  tlsRenewBefore: 'reissue the listener certificate this long before it expires (default a third of tlsCertTtl)',
  caRotateBefore: 'rotate the server CA this long before it expires, warning from twice as long (default 365d)',
  limits: 'connection cap, handshake/header/request/idle/keep-alive timeouts (docs/protocol.md "Limits")',
  rateLimit: 'rate limits per client address and per attested identity, 429 with Retry-After (on by default)',
  sessions: 'sealed (default: session state sealed to the agent, no server state per start) or memory',
  sessionKeys: 'sealed-session keyring file, a list of {id, key (base64, 32 bytes), seal}; env VOUCH_SESSION_KEYS holds the list itself',
  policyWatch: 'watch the policy file and apply a valid new document with no restart (default true; SIGHUP rereads it)',
  database:
    'the agent registry, use-once records, registration entries and published JWT keys on PostgreSQL (postgres://...), shared by replicas; default SQLite in dataDir',
  workers:
    'processes sharing the listening socket (Node; default 1); more than 1 needs sessions: sealed and database. Rate limits and the connection cap are per worker',
}

function configKeysHelp(): string {
  const keys = serverConfigKeys()
  const width = Math.max(...keys.map((k) => k.key.length))
  const envWidth = Math.max(...keys.map((k) => k.env?.length ?? 0))
  return [
    'config keys (environment variable overriding each):',
    ...keys.map((k) => `  ${k.key.padEnd(width)}  ${(k.env ?? '').padEnd(envWidth)}  ${KEY_DOCS[k.key] ?? ''}`.trimEnd()),
    '',
    'stdout: JSON lines only ({time, level, msg, ...}); the first says "Server listening" with the url.',
    'SIGHUP rereads the policy file; a document that does not validate is refused and the old one stays.',
    'With workers, SIGHUP reaches every worker, and changed CA files restart the workers one at a time.',
  ].join('\n')
}

/**
 * In a worker, a failure before it listens: the error is printed as usual; then the process
 * leaves, as the channel to the primary keeps it alive (the primary counts the exit and restarts it).
 */
function leaveWorker(e: unknown): never {
  setImmediate(() => process.exit(process.exitCode ?? 1))
  throw e
}

/** Resolves on SIGINT or SIGTERM; `cancel` removes the handlers (a start that failed). */
function waitForSignal(): { stopped: Promise<void>; cancel(): void } {
  let onSignal = () => {}
  const stopped = new Promise<void>((resolve) => {
    onSignal = () => {
      cancel()
      resolve()
    }
  })
  const cancel = () => {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  return { stopped, cancel }
}

export const serverCommand: Command = {
  usage: USAGE,
  help: configKeysHelp,
  async run(argv, io) {
    const args = parseArgs(argv, { options: ['config', 'output'] })
    jsonOutput(args)
    if (args.positionals.length > 0) throw new UsageError('unexpected arguments')
    const path = requireOption(args, 'config')
    // a worker of the primary's gets the secrets of the environment (the keyring, the database URL)
    // over the IPC channel before it reads the config, never through its own environment
    let env: NodeJS.ProcessEnv = process.env
    if (cluster.isWorker) {
      const { receiveWorkerSecrets } = await import('../../server/entry/cluster.ts')
      const secrets = await receiveWorkerSecrets().catch(leaveWorker)
      env = { ...process.env, ...secrets }
    }
    let config
    try {
      config = parseServerConfig(readText(path, 'server config'), env)
    } catch (e) {
      const error = e instanceof ConfigError ? new UsageError(e.message, 'ERR_CONFIG') : e
      // a worker restarted after the file changed: it must exit, or the primary waits for it forever
      if (cluster.isWorker) leaveWorker(error)
      throw error
    }
    if (config.workers > 1 && process.versions.bun)
      throw new UsageError(
        `config workers: ${config.workers} workers are not supported on Bun (vouch shares the listening socket through node:cluster, which Bun cannot do); run the server on Node, or several Bun servers behind a load balancer`,
        'ERR_CONFIG',
      )
    // listen for the signals first: a supervisor may stop the server as soon as it logs its URL
    const { stopped, cancel } = waitForSignal()
    try {
      if (cluster.isWorker) {
        // one of the primary's workers: serve, tell the primary, stop on its SIGTERM
        const { startNodeServer } = await import('../../server/entry/node.ts')
        const { WORKER_ID_ENV } = await import('../../server/entry/cluster.ts')
        const s = await startNodeServer(config, {
          write: (line) => io.out(line),
          role: 'worker',
          env,
          logFields: { worker: Number(process.env[WORKER_ID_ENV]), pid: process.pid },
        }).catch(leaveWorker)
        process.send?.({ vouch: 'listening', url: s.url })
        await stopped
        // the primary sends no more connections once this listener closes; open requests finish
        await s.close({ drainMs: 5_000 })
        process.disconnect?.()
      } else if (config.workers > 1) {
        const { startClusterPrimary } = await import('../../server/entry/cluster.ts')
        const primary = await startClusterPrimary(config, { write: (line) => io.out(line) })
        const code = await Promise.race([stopped.then(() => EXIT_OK), primary.failed])
        await primary.close()
        return code
      } else if (process.versions.bun) {
        const { startBunServer } = await import('../../server/entry/bun.ts')
        const s = await startBunServer(config)
        await stopped
        s.stop()
      } else {
        const { startNodeServer } = await import('../../server/entry/node.ts')
        const s = await startNodeServer(config, { write: (line) => io.out(line) })
        await stopped
        await s.close()
      }
    } finally {
      cancel()
    }
    return EXIT_OK
  },
}
