// HTTP end to end: a whole tpm_devid attestation as an agent makes it, two round trips
// (POST /v1/attest, then POST /v1/attest/:id/answer with a public key to certify) against ONE
// server process (bench/http-server.ts), from this process over keep-alive node:http. Compared, in
// interleaved rounds, with the same server work without sockets: the same app, bootstrapped the
// same way in this process, driven through app.request(). Latency percentiles are per attestation
// (both round trips), at 1 and at 16 in flight. Every response is checked: a refused attestation
// stops the benchmark, so only correct work is timed.
import { Agent as HttpAgent, request as httpRequest } from 'node:http'
import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Hono } from 'hono'
import { makeSvidKeyProofMessage } from '../core/attestation/svid-key.ts'
import { loadServerPlatform } from '../runtimes/node/index.ts'
import { bootstrap } from '../server/entry/bootstrap.ts'
import { parseServerConfig } from '../server/config.ts'
import { openSqliteWasm } from '../server/entry/sqlite-wasm.ts'
import { LiveAgent, evidenceSet } from '../test/core/attestation/live-agent.ts'
import { policyDocument } from '../test/e2e/setup.ts'
import { measureInterleaved, pairedRatio, type Measurement } from './harness.ts'
import { spawnBenchServer } from './spawn-server.ts'
import { fixedRandom } from './workloads.ts'

export interface Percentiles {
  readonly concurrency: number
  readonly attestations: number
  readonly p50Ms: number
  readonly p95Ms: number
  readonly p99Ms: number
}

export interface HttpBenchResult {
  /** attestations/s over HTTP and through app.request() in this process, 16 in flight */
  readonly http: Measurement
  readonly inProcess: Measurement
  /** http / inProcess, median of per-round ratios */
  readonly ratio: number
  readonly latency: readonly Percentiles[]
  /** the same percentiles through app.request() in this process, one in flight */
  readonly inProcessLatency: Percentiles
}

export interface HttpBenchOptions {
  readonly concurrency?: number
  readonly rounds?: number
  readonly sampleMs?: number
  /** how long each latency run lasts */
  readonly latencyMs?: number
  /**
   * warm-up per contender before the rounds (default 5 s): a fresh server process starts near a
   * tenth of its settled rate while the JIT and its caches warm, and takes seconds to settle
   */
  readonly warmupMs?: number
  /** operations each side runs before the first window as well (harness WarmupOptions; default 2000) */
  readonly warmupOps?: number
}

export type Send = (path: string, body: unknown) => Promise<{ status: number; body: Record<string, unknown> }>

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

/**
 * One attestation (two round trips); throws unless the server answers 200 with verdict ok. The
 * answer body is fixed, or made per session (the SVID key proof names the session ID).
 */
export function attestation(send: Send, evidence: unknown, answerBody: unknown | ((sessionId: string) => unknown)): () => Promise<void> {
  return async () => {
    const start = await send('/v1/attest', { providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidence } })
    if (start.status !== 200) throw new Error(`http bench: start answered ${start.status} ${JSON.stringify(start.body)}`)
    const sessionId = start.body.sessionId as string
    const body = typeof answerBody === 'function' ? (answerBody as (id: string) => unknown)(sessionId) : answerBody
    const answer = await send(`/v1/attest/${sessionId}/answer`, body)
    if (answer.status !== 200 || answer.body.verdict !== 'ok')
      throw new Error(`http bench: answer ${answer.status} ${JSON.stringify(answer.body)}`)
  }
}

/**
 * The bench agent, answered once: a start through `send` with the fixture's `evidence`, and the
 * fixture TPM's answer to it with a new P-256 SVID key. The bench servers' challenge randomness
 * repeats (fixedRandom), so these answers hold for every later session; the key proof names the
 * session, so `body(sessionId)` signs one per session, as a real agent does.
 */
export async function benchAgentAnswer(send: Send, agent: LiveAgent, evidence: Record<string, string>, bench: string) {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const spki = publicKey.export({ format: 'der', type: 'spki' })
  const binding = new Uint8Array(createHash('sha256').update(spki).digest())
  const start = await send('/v1/attest', { providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidence } })
  if (start.status !== 200) throw new Error(`${bench}: start answered ${start.status} ${JSON.stringify(start.body)}`)
  const challenge = (start.body.challenges as Record<string, Record<string, unknown>>).tpm_devid!
  const answers = {
    tpm_devid: await agent.answer(challenge, { devIdPub: evidence.DevIDPub!, akPub: evidence.AKPub!, ekPub: evidence.EKPub!, binding }),
  }
  const publicKeyBase64 = spki.toString('base64')
  const keyProof = (sessionId: string) =>
    sign('sha256', makeSvidKeyProofMessage(sessionId, binding), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('base64')
  return {
    /** the start this answer was made for */
    sessionId: start.body.sessionId as string,
    answers,
    spki,
    binding,
    privateKey,
    publicKeyBase64,
    keyProof,
    body: (sessionId: string) => ({ answers, publicKey: publicKeyBase64, keyProof: keyProof(sessionId) }),
  }
}

async function latencies(fn: () => Promise<void>, concurrency: number, ms: number): Promise<Percentiles> {
  const times: number[] = []
  const deadline = performance.now() + ms
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now()
        await fn()
        times.push(performance.now() - t)
      }
    }),
  )
  times.sort((a, b) => a - b)
  return {
    concurrency,
    attestations: times.length,
    p50Ms: percentile(times, 50),
    p95Ms: percentile(times, 95),
    p99Ms: percentile(times, 99),
  }
}

/** A plain-HTTP server config on 127.0.0.1, any port. */
function configText(dataDir: string, policy: string): string {
  // one client address and one identity make every request: the rate limits are off for the bench;
  // the answers are precomputed under a fixed random source (workloads.ts fixedRandom), which a sealed
  // session (a random use-once id and IV per start) cannot take: the in-memory store, as before
  return `trustDomain: example.org\nlisten: "127.0.0.1:0"\ndataDir: ${dataDir}\npolicy: ${policy}\ntls: false\nrateLimit: { enabled: false }\nsessions: memory\n`
}

/** The server config and policy (the e2e policy on the swtpm fixtures) in a fresh directory. */
function writeConfig(dir: string): string {
  const policy = join(dir, 'policy.json')
  writeFileSync(policy, JSON.stringify(policyDocument()))
  const config = join(dir, 'server.yaml')
  writeFileSync(config, configText(join(dir, 'data'), policy))
  return config
}

/**
 * The agent side: node:http POSTs over a keep-alive pool of `sockets` connections. It shares the
 * machine's cores with the server, so it is kept lean (fetch builds Request, Headers and Response
 * objects per call): driven by fetch the server read 46% and 62% of the in-process rate in two
 * runs, by this 59-68% in five.
 */
export function httpClient(base: string, sockets: number): Send & { close(): void } {
  const url = new URL(base)
  const agent = new HttpAgent({ keepAlive: true, maxSockets: sockets })
  const send = (path: string, body: unknown) =>
    new Promise<{ status: number; body: Record<string, unknown> }>((resolveSend, reject) => {
      const payload = JSON.stringify(body)
      const req = httpRequest(
        {
          agent,
          host: url.hostname,
          port: url.port,
          path,
          method: 'POST',
          headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
        },
        (res) => {
          const chunks: Buffer[] = []
          res.on('data', (c: Buffer) => chunks.push(c))
          res.on('end', () => {
            try {
              resolveSend({
                status: res.statusCode ?? 0,
                body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
              })
            } catch (e) {
              reject(e)
            }
          })
          res.on('error', reject)
        },
      )
      req.on('error', reject)
      req.end(payload)
    })
  return Object.assign(send, { close: () => agent.destroy() })
}

export async function measureHttp(options: HttpBenchOptions = {}): Promise<HttpBenchResult> {
  const concurrency = options.concurrency ?? 16
  const dir = mkdtempSync(join(tmpdir(), 'vouch-http-bench-'))
  const agent = await LiveAgent.start('tpm-a')
  let server: { url: string; stop(): Promise<void> } | undefined
  let local: { close(): void } | undefined
  let client: { close(): void } | undefined
  try {
    const configPath = writeConfig(dir)
    server = await spawnBenchServer('http-server.ts', configPath)
    const base = server.url
    const overHttp = httpClient(base, concurrency)
    client = overHttp
    // the same app in this process, its own data dir, the same fixed-random cached platform
    const localDir = join(dir, 'local')
    const localConfig = parseServerConfig(configText(localDir, join(dir, 'policy.json')))
    const b = await bootstrap(localConfig, {
      platform: fixedRandom(await loadServerPlatform()),
      openDatabase: openSqliteWasm,
      write: () => {},
    })
    local = b
    const app: Hono = b.app
    const inProcess: Send = async (path, body) => {
      const res = await app.request(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
      return { status: res.status, body: (await res.json()) as Record<string, unknown> }
    }

    // one real attestation answered by the fixture TPM; both servers' randomness repeats, so its
    // answer is valid for every later session of either
    const evidence = evidenceSet('tpm-a-devid-rsa') as Record<string, string>
    const live = await benchAgentAnswer(overHttp, agent, evidence, 'http bench')
    const answerBody = live.body
    const first = await overHttp(`/v1/attest/${live.sessionId}/answer`, answerBody(live.sessionId))
    if (first.status !== 200) throw new Error(`http bench: the live answer was refused: ${first.status} ${JSON.stringify(first.body)}`)

    const viaHttp = attestation(overHttp, evidence, answerBody)
    const viaApp = attestation(inProcess, evidence, answerBody)
    const [http, inProc] = await measureInterleaved(
      [
        { name: 'HTTP, one server process', fn: viaHttp, concurrency },
        { name: 'same app in process (app.request)', fn: viaApp, concurrency },
      ],
      {
        warmupMs: options.warmupMs ?? 5000,
        ...(options.warmupOps !== undefined ? { warmupOps: options.warmupOps } : {}),
        ...(options.rounds !== undefined ? { rounds: options.rounds } : {}),
        ...(options.sampleMs !== undefined ? { sampleMs: options.sampleMs } : {}),
      },
    )
    const latencyMs = options.latencyMs ?? 2000
    const latency = [await latencies(viaHttp, 1, latencyMs), await latencies(viaHttp, concurrency, latencyMs)]
    const inProcessLatency = await latencies(viaApp, 1, latencyMs)
    return { http: http!, inProcess: inProc!, ratio: pairedRatio(http!, inProc!), latency, inProcessLatency }
  } finally {
    client?.close()
    local?.close()
    await server?.stop()
    await agent.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
