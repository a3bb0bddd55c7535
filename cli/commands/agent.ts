import { attestOnce } from '../../agent/attest.ts'
import { AGENT_CONFIG_KEYS, ConfigError, parseAgentConfig } from '../../agent/config.ts'
import { jsonLogger } from '../../agent/log.ts'
import { startWorkloadApi } from '../../agent/workload/api/index.ts'
import { WorkloadServices } from '../../agent/workload/run.ts'
import { jsonOutput, parseArgs, requireOption, UsageError } from '../args.ts'
import { EXIT_INVALID, EXIT_OK, type Command } from '../command.ts'
import { readText } from '../files.ts'

const USAGE =
  'vouch agent --config FILE [--once] [--insecure-http] [--output json]\n' +
  "  attests this machine's TPM to the vouch server (agent.server, or agent.servers: replicas it fails over\n" +
  '  between) and writes its X.509-SVID\n' +
  '  (agent.svidDir/svid.pem, svid.key.pem, bundle.pem). --once: attest once, print a JSON summary,\n' +
  '  exit 0 (or 1 with the error). Without --once: attest again at half the SVID lifetime.\n' +
  '  --insecure-http: allow http:// servers (test benches only; warns on every attestation).\n' +
  '  JSON-lines logs go to stderr. --output json: errors as JSON on stdout too.\n' +
  '  With agent.workloadApi (not with --once): after the first attestation, fetches the SVIDs of the\n' +
  '  registration entries this agent is the parent of over mTLS with its node SVID, keeps them in memory,\n' +
  '  renews them at half their lifetime, and serves the SPIFFE Workload API and Envoy SDS on\n' +
  '  agent.workloadApi.socketPath (docs/workload-walkthrough.md).'

function configKeysHelp(): string {
  const ATTESTOR = 'agent.attestors[].'
  const top = AGENT_CONFIG_KEYS.filter((k) => !k.key.startsWith(ATTESTOR)).map((k) => ({ key: k.key.slice('agent.'.length), doc: k.doc }))
  const each = AGENT_CONFIG_KEYS.filter((k) => k.key.startsWith(ATTESTOR)).map((k) => ({ key: k.key.slice(ATTESTOR.length), doc: k.doc }))
  const width = Math.max(...[...top.map((k) => k.key.length), ...each.map((k) => k.key.length + 2)])
  const rows = (keys: typeof top, indent: string) => keys.map((k) => `${indent}${k.key.padEnd(width + 2 - indent.length)}  ${k.doc}`)
  return ['config keys (YAML, under agent:):', ...rows(top, '  '), '  attestors: a list, each attestor with', ...rows(each, '    ')].join(
    '\n',
  )
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export const agentCommand: Command = {
  usage: USAGE,
  help: configKeysHelp,
  async run(argv, io) {
    const args = parseArgs(argv, { flags: ['once', 'insecure-http'], options: ['config', 'output'] })
    const json = jsonOutput(args)
    if (args.positionals.length) throw new UsageError(`unexpected argument ${args.positionals[0]}`)
    const path = requireOption(args, 'config')
    let cfg
    try {
      cfg = parseAgentConfig(readText(path, 'agent config'), path, { insecureHttp: args.options.has('insecure-http') })
    } catch (e) {
      if (e instanceof ConfigError) throw new UsageError(e.message, 'ERR_CONFIG')
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
        const code = (e as { code?: unknown }).code
        if (json)
          io.out(
            JSON.stringify({ error: { code: typeof code === 'string' && code.startsWith('ERR_') ? code : 'ERR_FAILED', message: msg } }),
          )
        else io.err(`vouch agent: ${msg}`)
        return EXIT_INVALID
      }
    }
    const w = cfg.workloadApi
    const workloads = w ? new WorkloadServices({ ...cfg, workloadApi: w }, log, startWorkloadApi) : undefined
    // with a Workload API, SIGTERM/SIGINT close it (open calls end, the socket is removed) before exit
    let stopRequested = false
    let wake: (() => void) | undefined
    const onSignal = () => {
      stopRequested = true
      wake?.()
    }
    if (workloads) for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, onSignal)
    const pause = (ms: number) =>
      new Promise<void>((r) => {
        const t = setTimeout(r, ms)
        wake = () => {
          clearTimeout(t)
          r()
        }
      })
    for (;;) {
      let waitMs = 30_000
      let summary
      try {
        summary = await attestOnce(cfg, { log })
        log.log('info', 'SVID written', { spiffeId: summary.spiffeId, expiresAt: summary.expiresAt, reattestAfter: summary.reattestAfter })
        waitMs = Math.max(1_000, Date.parse(summary.reattestAfter) - Date.now())
      } catch (e) {
        log.log('error', 'Attestation failed', { error: (e as Error).message, retryInMs: waitMs })
      }
      if (summary && workloads) {
        try {
          await workloads.afterAttestation(summary)
        } catch (e) {
          // the socket cannot be served (path taken, no peer-credential addon): nothing to retry
          const msg = (e as Error).message
          log.log('error', 'Workload API failed', { error: msg })
          await workloads.close()
          for (const sig of ['SIGTERM', 'SIGINT'] as const) process.off(sig, onSignal)
          io.err(`vouch agent: ${msg}`)
          return EXIT_INVALID
        }
      }
      if (!stopRequested) await (workloads ? pause(waitMs) : sleep(waitMs))
      if (stopRequested && workloads) {
        for (const sig of ['SIGTERM', 'SIGINT'] as const) process.off(sig, onSignal)
        await workloads.close()
        log.log('info', 'Agent stopped')
        return EXIT_OK
      }
    }
  },
}
