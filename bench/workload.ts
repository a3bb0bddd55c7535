// The agent socket under load (issue 15): the Workload API server runs in its own process
// (bench/workload-server.ts) with an in-memory identity source; this process is the workloads.
//
// - FetchX509SVID round trip on a warm cache: on one open connection, a call is opened, its first
//   response (the SVIDs, attested from peer credentials) read, and the call cancelled; 1 in flight.
//   Two entries match the caller: one by uid, one by uid + path + sha256 of the executable (its
//   digest cached after the first call), so every call reads /proc and checks the pidfd.
// - Rotation pushed to 100 open streams: 100 connections, each with an open FetchX509SVID stream;
//   the server rotates every SVID; per stream, the time from the rotation (server clock) to the
//   new SVID decoded here (same machine, same clock), and per round the time until the last stream.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { decodeX509SvidResponse, WorkloadApiMethod } from '../core/workload/index.ts'
import { GrpcTestClient } from '../test/support/grpc-client.ts'

const ROOT = resolve(import.meta.dirname, '..')

export interface LatencyStats {
  readonly samples: number
  readonly p50Ms: number
  readonly p99Ms: number
}

export interface WorkloadBenchResult {
  readonly roundTrip: LatencyStats
  /** connect, FetchX509SVID, first response: a new connection per call */
  readonly roundTripNewConnection: LatencyStats
  /** per stream: rotation → new SVID received */
  readonly rotationPerStream: LatencyStats
  /** per round: rotation → the last of the 100 streams has it */
  readonly rotationAllStreams: LatencyStats
  readonly streams: number
}

function stats(values: number[]): LatencyStats {
  const s = [...values].sort((a, b) => a - b)
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))]!
  return { samples: s.length, p50Ms: at(0.5), p99Ms: at(0.99) }
}

async function startServer(socketPath: string): Promise<ChildProcess> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/workload-server.ts'), socketPath], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, NODE_OPTIONS: '' },
  })
  await new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error('workload bench: the server did not start')), 60_000)
    proc.stdout!.on('data', (d: Buffer) => {
      if (d.toString().includes('ready')) {
        clearTimeout(timer)
        resolveReady()
      }
    })
    proc.once('exit', (code) => reject(new Error(`workload bench: the server exited (${code})`)))
  })
  return proc
}

export async function measureWorkloadApi(
  options: { calls?: number; warmup?: number; streams?: number; rounds?: number } = {},
): Promise<WorkloadBenchResult> {
  const calls = options.calls ?? 2000
  const warmup = options.warmup ?? 200
  const streamCount = options.streams ?? 100
  const rounds = options.rounds ?? 30
  const dir = mkdtempSync(join(tmpdir(), 'vouch-wlbench-'))
  const socketPath = join(dir, 'agent.sock')
  const server = await startServer(socketPath)
  const clients: GrpcTestClient[] = []
  try {
    // ---- round trip, 1 in flight, warm. A streaming call ends by the client's RST_STREAM(CANCEL);
    // nghttp2 bounds how fast a client may reset streams (the HTTP/2 "rapid reset" defence, a burst
    // of 1000), so the connection is renewed every RESETS_PER_CONNECTION calls.
    const RESETS_PER_CONNECTION = 500
    let c = await GrpcTestClient.connect(socketPath)
    clients.push(c)
    let onConnection = 0
    const fetchOnce = async (client: GrpcTestClient) => {
      const s = client.open(WorkloadApiMethod.fetchX509Svid, new Uint8Array())
      const m = await s.next()
      if (!m || decodeX509SvidResponse(m).svids.length !== 2) {
        throw new Error(`workload bench: the caller did not get its two SVIDs: ${m ? 'a short response' : JSON.stringify(await s.done)}`)
      }
      s.cancel()
    }
    const once = async () => {
      if (++onConnection > RESETS_PER_CONNECTION) {
        c.destroy()
        c = await GrpcTestClient.connect(socketPath)
        clients.push(c)
        onConnection = 1
      }
      await fetchOnce(c)
    }
    for (let i = 0; i < warmup; i++) await once()
    const rt: number[] = []
    for (let i = 0; i < calls; i++) {
      const t = performance.now()
      await once()
      rt.push(performance.now() - t)
    }
    // ---- the same with a new connection per call (a workload that starts, connects and fetches)
    const rtConnect: number[] = []
    for (let i = 0; i < Math.ceil(calls / 4); i++) {
      const t = performance.now()
      const fresh = await GrpcTestClient.connect(socketPath)
      await fetchOnce(fresh)
      rtConnect.push(performance.now() - t)
      fresh.destroy()
    }

    // ---- rotation pushed to N open streams
    const streams = []
    for (let i = 0; i < streamCount; i++) {
      const ci = await GrpcTestClient.connect(socketPath)
      clients.push(ci)
      const s = ci.open(WorkloadApiMethod.fetchX509Svid, new Uint8Array())
      await s.next(30_000)
      streams.push(s)
    }
    const perStream: number[] = []
    const allStreams: number[] = []
    for (let r = 0; r < rounds; r++) {
      const rotated = new Promise<number>((res) => server.once('message', (m: { t0: number }) => res(m.t0)))
      server.send({ kind: 'rotate' })
      const arrivals = await Promise.all(
        streams.map(async (s) => {
          const m = await s.next(30_000)
          if (!m) throw new Error('workload bench: a stream ended')
          return performance.timeOrigin + performance.now()
        }),
      )
      const t0 = await rotated
      for (const a of arrivals) perStream.push(a - t0)
      allStreams.push(Math.max(...arrivals) - t0)
    }
    for (const s of streams) s.cancel()
    return {
      roundTrip: stats(rt),
      roundTripNewConnection: stats(rtConnect),
      rotationPerStream: stats(perStream),
      rotationAllStreams: stats(allStreams),
      streams: streamCount,
    }
  } finally {
    for (const c of clients) c.destroy()
    server.send({ kind: 'stop' })
    await new Promise((r) => {
      const t = setTimeout(() => {
        server.kill('SIGKILL')
        r(undefined)
      }, 5000)
      server.once('exit', () => {
        clearTimeout(t)
        r(undefined)
      })
    })
    rmSync(dir, { recursive: true, force: true })
  }
}
