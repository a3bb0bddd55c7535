// The server process of the HTTP benchmark (bench/http.ts): `vouch server` as it runs in
// production (Node, @hono/node-server, SQLite registry, SVID issuance, caches), except that its
// randomness repeats (bench/workloads.ts fixedRandom) so one precomputed TPM answer stays valid,
// and its log lines are dropped. Plain HTTP on 127.0.0.1: TLS would measure the TLS stack.
// Argument: the server config file. Prints {"url": ...} on stdout once listening; SIGTERM stops it.
import { loadConfigFile } from '../server/entry/bootstrap.ts'
import { startNodeServer } from '../server/entry/node.ts'
import { loadServerPlatform } from '../runtimes/node/index.ts'
import { fixedRandom } from './workloads.ts'

const config = loadConfigFile(process.argv[2]!, {})
const server = await startNodeServer(config, { platform: fixedRandom(await loadServerPlatform()), write: () => {} })
process.stdout.write(`${JSON.stringify({ url: server.url })}\n`)
process.on('SIGTERM', () => {
  void server.close().then(() => process.exit(0))
})
