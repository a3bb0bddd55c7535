import { attestOnce } from '../../agent/attest.ts'
import { ConfigError, loadAgentConfig } from '../../agent/config.ts'
import { jsonLogger } from '../../agent/log.ts'
import { parseArgs, requireOption, UsageError } from '../args.ts'
import { EXIT_INVALID, EXIT_OK, type Command } from '../command.ts'

const USAGE =
  'vouch agent --config FILE [--once] [--insecure-http]\n' +
  "  attests this machine's TPM to the vouch server (agent.server) and writes its X.509-SVID\n" +
  '  (agent.svidDir/svid.pem, svid.key.pem, bundle.pem). --once: attest once, print a JSON summary,\n' +
  '  exit 0 (or 1 with the error). Without --once: attest again at half the SVID lifetime.\n' +
  '  --insecure-http: allow an http:// agent.server (test benches only; warns on every attestation).\n' +
  '  JSON-lines logs go to stderr.'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const agentCommand: Command = {
  path: ['agent'],
  summary: 'run the node agent: TPM attestation to the vouch server, SVID on disk',
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, { flags: ['once', 'insecure-http'], options: ['config'] })
    if (args.positionals.length) throw new UsageError(`unexpected argument ${args.positionals[0]}`)
    let cfg
    try {
      cfg = await loadAgentConfig(requireOption(args, 'config'), { insecureHttp: args.options.has('insecure-http') })
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(e.message)
      throw e
    }
    const log = jsonLogger((l) => io.err(l), cfg.logLevel)
    if (args.options.has('once')) {
      try {
        const summary = await attestOnce(cfg, { log })
        io.out(JSON.stringify(summary))
        return EXIT_OK
      } catch (e) {
        const msg = (e as Error).message
        log.log('error', 'Attestation failed', { error: msg })
        io.err(`vouch agent: ${msg}`)
        return EXIT_INVALID
      }
    }
    for (;;) {
      let waitMs = 30_000
      try {
        const s = await attestOnce(cfg, { log })
        log.log('info', 'SVID written', { spiffeId: s.spiffeId, expiresAt: s.expiresAt, reattestAfter: s.reattestAfter })
        waitMs = Math.max(1_000, Date.parse(s.reattestAfter) - Date.now())
      } catch (e) {
        log.log('error', 'Attestation failed', { error: (e as Error).message, retryInMs: waitMs })
      }
      await sleep(waitMs)
    }
  },
}
