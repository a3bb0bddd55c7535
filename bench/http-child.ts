// The server process of the HTTP benchmark (bench/http.ts): the production Node entry
// (server/entry/node.ts: @hono/node-server, SQLite registry, SVID issuance) on the benchmark's
// platform (bench/http.ts benchPlatform: cached CA signatures, randomness that repeats so one
// precomputed TPM answer stays valid), with its JSON log lines dropped. Plain HTTP on 127.0.0.1
// (the config says tls: false): TLS would time the TLS stack, not the server.
//
//   node --import tsx bench/http-child.ts <server.yaml>
//
// Prints {"port":N} on stdout once listening. SIGTERM, or stdin closing, stops it.
import { loadConfigFile } from '../server/entry/bootstrap.ts'
import { startNodeServer } from '../server/entry/node.ts'
import { benchPlatform } from './http.ts'

const server = await startNodeServer(loadConfigFile(process.argv[2]!, {}), { platform: await benchPlatform(), write: () => {} })
process.stdout.write(`${JSON.stringify({ port: Number(new URL(server.url).port) })}\n`)
let stopping = false
const stop = () => {
  if (stopping) return
  stopping = true
  void server.close().then(() => process.exit(0))
}
process.once('SIGTERM', stop)
process.stdin.on('end', stop).on('close', stop).resume()
