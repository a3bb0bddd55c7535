// The server of the workers benchmark (bench/workers-bench.ts): `vouch server` as the CLI runs it,
// one process or, with `workers: N`, the node:cluster primary of server/entry/cluster.ts, which
// forks this file again (with tsx) for each worker. Sealed sessions on PostgreSQL; the workers'
// challenge randomness repeats (bench/sealed-random.ts) so one precomputed TPM answer stays valid.
// Argument: the config file. Prints {"url": ...} once every worker listens; SIGTERM stops it.
import cluster from 'node:cluster'
import { loadServerPlatform } from '../runtimes/node/index.ts'
import { loadConfigFile } from '../server/entry/bootstrap.ts'
import { startClusterPrimary, WORKER_ID_ENV } from '../server/entry/cluster.ts'
import { startNodeServer } from '../server/entry/node.ts'
import { sealedFixedRandom } from './sealed-random.ts'

const config = loadConfigFile(process.argv[2]!, process.env)
const platform = sealedFixedRandom(await loadServerPlatform())
const quiet = () => {}
if (cluster.isWorker) {
  const s = await startNodeServer(config, {
    platform,
    write: quiet,
    role: 'worker',
    logFields: { worker: Number(process.env[WORKER_ID_ENV]) },
  })
  process.send?.({ vouch: 'listening', url: s.url })
  process.on('SIGTERM', () => void s.close({ drainMs: 1000 }).then(() => process.exit(0)))
} else if (config.workers > 1) {
  const primary = await startClusterPrimary(config, { write: quiet })
  process.stdout.write(`${JSON.stringify({ url: primary.url })}\n`)
  process.on('SIGTERM', () => void primary.close().then(() => process.exit(0)))
} else {
  const s = await startNodeServer(config, { platform, write: quiet })
  process.stdout.write(`${JSON.stringify({ url: s.url })}\n`)
  process.on('SIGTERM', () => void s.close().then(() => process.exit(0)))
}
