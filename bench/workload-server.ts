// The agent socket for bench/workload.ts, in its own process: an in-memory identity source (real
// certificates) behind startWorkloadApi. Entries: one by uid, one by uid + path + sha256 of the node
// executable. Prints "ready" once listening; on an IPC "rotate" message it rotates every SVID and
// answers { t0 }: the wall clock (ms, sub-millisecond precision) when the source announced the change,
// after the new SVIDs were minted, so the figure is the push, not the minting.
import { createHash } from 'node:crypto'
import { readFileSync, realpathSync } from 'node:fs'
import { jsonLogger } from '../agent/log.ts'
import { startWorkloadApi } from '../agent/workload/api/index.ts'
import { entry, MemorySource } from '../test/support/workload-source.ts'

const socketPath = process.argv[2]!
const uid = process.getuid!()
const node = realpathSync(process.execPath)
const sha = createHash('sha256').update(readFileSync(node)).digest('hex')
const source = await MemorySource.create({
  entries: [
    entry('by-uid', 'spiffe://example.org/bench/uid', [`unix:uid:${uid}`]),
    entry('by-exe', 'spiffe://example.org/bench/exe', [`unix:uid:${uid}`, `unix:path:${node}`, `unix:sha256:${sha}`]),
  ],
})
// the first listener: the clock starts when the change is announced (after the new SVIDs are minted)
let t0 = 0
source.onChange(() => {
  t0 = performance.timeOrigin + performance.now()
})
const api = await startWorkloadApi({
  socketPath,
  source,
  maxConnections: 4096,
  maxConnectionsPerUid: 4096,
  logger: jsonLogger((l) => process.stderr.write(`${l}\n`), 'warn'),
})
process.on('message', (m: { kind: string }) => {
  if (m.kind === 'rotate') {
    source.rotate()
    process.send!({ kind: 'rotated', t0 })
  } else if (m.kind === 'stop') {
    void api.close().then(() => process.exit(0))
  }
})
console.log('ready')
