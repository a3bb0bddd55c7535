/**
 * `vouch server --config FILE`: starts the attestation server (Node: @hono/node-server; Bun:
 * Bun.serve), prints the URL it listens on, then JSON-lines logs; stops on SIGINT/SIGTERM.
 */
import { parseArgs, requireOption, UsageError } from '../args.ts'
import { EXIT_OK, type Command } from '../command.ts'
import { ConfigError } from '../../server/config.ts'

const USAGE =
  'vouch server --config FILE\n' +
  '  FILE  server config (YAML): trustDomain, listen, dataDir, policy, svidTtl, sessionTtl, tls, ca,\n' +
  '        tlsCertTtl, tlsRenewBefore, caRotateBefore, policyWatch (docs/deploy.md)\n' +
  '  environment variables VOUCH_TRUST_DOMAIN, VOUCH_LISTEN, VOUCH_DATA_DIR, VOUCH_POLICY,\n' +
  '  VOUCH_SVID_TTL, VOUCH_SESSION_TTL, VOUCH_TLS, VOUCH_CA_CERT_FILE, VOUCH_CA_KEY_FILE,\n' +
  '  VOUCH_TLS_CERT_TTL, VOUCH_TLS_RENEW_BEFORE, VOUCH_CA_ROTATE_BEFORE, VOUCH_POLICY_WATCH override keys\n' +
  '  SIGHUP rereads the policy file'

function waitForSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve())
    process.once('SIGTERM', () => resolve())
  })
}

export const serverCommand: Command = {
  path: ['server'],
  summary: 'run the attestation server (HTTP protocol v1, SVID issuance, bundle, registry, metrics)',
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, { options: ['config'] })
    if (args.positionals.length > 0) throw new UsageError('unexpected arguments')
    const path = requireOption(args, 'config')
    const { loadConfigFile } = await import('../../server/entry/bootstrap.ts')
    let config
    try {
      config = loadConfigFile(path)
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(e.message)
      throw e
    }
    if (process.versions.bun) {
      const { startBunServer } = await import('../../server/entry/bun.ts')
      const s = await startBunServer(config)
      io.out(s.url)
      await waitForSignal()
      s.stop()
    } else {
      const { startNodeServer } = await import('../../server/entry/node.ts')
      const s = await startNodeServer(config, { write: (line) => io.out(line) })
      io.out(s.url)
      await waitForSignal()
      await s.close()
    }
    return EXIT_OK
  },
}
