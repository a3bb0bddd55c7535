// HTTP end to end: a whole all-RSA tpm_devid attestation as an agent makes it, two round trips
// (POST /v1/attest with evidence, then POST /v1/attest/:id/answer with the TPM's answer and the
// public key to certify, which gets an X.509-SVID), against ONE server process (bench/http-child.ts)
// from this process over keep-alive fetch. The comparator is the same server work without sockets:
// the same app, bootstrapped the same way in this process, driven through app.request(). The two
// are measured in interleaved rounds (bench/harness.ts) and compared by the median of per-round
// ratios. Latency percentiles are per attestation (both round trips), at 1 and at C in flight.
//
// Both servers run on the benchmark's platform (node:crypto, WASM kernels, cached CA signatures)
// with randomness that repeats (fixedRandomOf), so the challenge never changes and ONE answer from
// the fixture TPM, bound to ONE fixed P-256 key, stays valid for every session of either server.
// Every response is checked (200, verdict ok, one SVID): a refused attestation stops the run, so
// only correct work is timed.
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { withPlatform, type Platform } from '../core/platform.ts'
import { createCertificateCache } from '../core/x509/certificate-cache.ts'
import { createVerifiedSignatureCache } from '../core/x509/verified-cache.ts'
import { createNodePlatform, loadKernels } from '../runtimes/node/index.ts'
import { bootstrap, loadConfigFile, type Bootstrapped } from '../server/entry/bootstrap.ts'
import { openSqliteWasm } from '../server/entry/sqlite-wasm.ts'
import { LiveAgent, evidenceSet } from '../test/core/attestation/live-agent.ts'
import { FIXTURE_DIR } from '../test/support/swtpm.ts'
import { measureInterleaved, pairedRatio, type Measurement } from './harness.ts'

const ROOT = resolve(import.meta.dirname, '..')
const CHILD = join(ROOT, 'bench/http-child.ts')

export interface HttpBenchOptions {
  /** attestations in flight for the rate and the second latency run (default 16) */
  readonly concurrency?: number
  /** interleaved rounds, each one window over HTTP and one in process (default 5) */
  readonly rounds?: number
  /** ms per window (default 400) */
  readonly sampleMs?: number
  /** ms of warm-up per contender before the rounds, and before each latency run (default 200) */
  readonly warmupMs?: number
  /** ms of each latency run, at 1 and at `concurrency` in flight (default 2000) */
  readonly latencyMs?: number
  /** the server's port (default 0: the kernel picks one); used when measureHttp opens the bench */
  readonly port?: number
  /** extra node flags for the server process (e.g. ['--cpu-prof']); used when measureHttp opens the bench */
  readonly serverNodeArgs?: readonly string[]
  /** an already open bench (openHttpBench) to measure on; it is left open */
  readonly bench?: HttpBench
}

export interface LatencyRun {
  readonly concurrency: number
  /** attestations timed in the run */
  readonly attestations: number
  readonly opsPerSec: number
  readonly p50Ms: number
  readonly p95Ms: number
  readonly p99Ms: number
  readonly maxMs: number
  /** CPU µs per attestation of the server process (Linux /proc; undefined elsewhere) */
  readonly serverCpuUsPerOp?: number
  /** CPU µs per attestation of this process, the client (fetch, JSON) */
  readonly clientCpuUsPerOp: number
}

export interface HttpBenchResult {
  /** attestations/s over HTTP, one server process, `concurrency` in flight */
  readonly http: Measurement
  /** attestations/s of the same app through app.request() in this process, same concurrency */
  readonly inProcess: Measurement
  /** http / inProcess: the median of per-round ratios */
  readonly ratio: number
  /** over HTTP: [1 in flight, `concurrency` in flight] */
  readonly latency: readonly LatencyRun[]
  /** attestations checked in this measurement (warm-ups included); `failed` is 0 or it threw */
  readonly attestations: { readonly http: number; readonly inProcess: number; readonly failed: number }
  readonly settings: { readonly concurrency: number; readonly rounds: number; readonly sampleMs: number; readonly warmupMs: number; readonly latencyMs: number }
}

export interface Reply {
  readonly status: number
  readonly body: Record<string, unknown>
}
/** POST a JSON text to the server; the reply's body parsed */
export type Send = (path: string, json: string) => Promise<Reply>

export interface HttpBench {
  readonly url: string
  readonly pid: number
  /** the bodies every benchmark attestation sends (JSON text): evidence, and answer + fixed SPKI */
  readonly startJson: string
  readonly answerJson: string
  /** over keep-alive fetch to the server process */
  readonly overHttp: Send
  /** through app.request() of the same app in this process */
  readonly inProcess: Send
  close(): Promise<void>
}

/** Randomness that repeats, as bench/workloads.ts fixedRandom: all 0x5a bytes but 24-byte session IDs, which carry a counter. */
export function fixedRandomOf(platform: Platform): Platform {
  let n = 0
  return withPlatform({
    crypto: {
      ...platform.crypto,
      randomBytes: (size: number) => {
        const out = new Uint8Array(size).fill(0x5a)
        if (size === 24) new DataView(out.buffer).setUint32(0, n++)
        return out
      },
    },
  }, platform)
}

/** The platform both servers run on: the in-process bench's "cached" platform with fixed randomness. */
export async function benchPlatform(): Promise<Platform> {
  const kernels = await loadKernels()
  return withPlatform({ verifiedSignatures: createVerifiedSignatureCache(), certificates: createCertificateCache() }, fixedRandomOf(createNodePlatform({ kernels })))
}

const fixture = (p: string) => readFileSync(join(FIXTURE_DIR, p), 'utf8')
const indent = (s: string) => s.replace(/^/gm, '          ')

/** bench/workloads.ts policySet() as a file: DevID root + intermediate, swtpm EK root + issuer. */
function writePolicy(path: string): void {
  writeFileSync(path, `section: AgentAttestation
schema: v1
spec:
  policies:
  - name: bench
    requiredAttestors:
    - type: tpm_devid
      config:
        devIDCACerts: |
${indent(fixture('devid-ca/root.pem') + fixture('devid-ca/intermediate.pem'))}
        endorsementCACerts: |
${indent(fixture('ek-ca/swtpm-localca-rootca-cert.pem') + fixture('ek-ca/issuercert.pem'))}
`)
}

/** A server config (plain HTTP on 127.0.0.1) with its own data dir under `dir`. */
function writeConfig(dir: string, name: string, policy: string, port: number): string {
  const path = join(dir, `${name}.yaml`)
  writeFileSync(path, `trustDomain: bench.test\nlisten: "127.0.0.1:${port}"\ndataDir: ${join(dir, name)}\npolicy: ${policy}\ntls: false\n`)
  return path
}

/** Linux: user+system CPU µs of a process so far (clock ticks of 10 ms). */
function processCpuUs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ') // from field 3 (state) on
    return (Number(fields[11]) + Number(fields[12])) * 10_000 // utime, stime (USER_HZ = 100)
  } catch {
    return undefined
  }
}

interface Child {
  readonly port: number
  readonly proc: ChildProcess
  stop(): Promise<void>
}

/** Starts bench/http-child.ts with Node + tsx; resolves once it prints its port. */
function spawnServer(configPath: string, nodeArgs: readonly string[] = []): Promise<Child> {
  // stdin stays a pipe: the child exits when it closes, so a killed bench leaves no server behind
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', CHILD, configPath], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '' } })
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      proc.kill('SIGTERM')
      const timer = setTimeout(() => proc.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }
  }
  let out = ''
  return new Promise((resolveChild, reject) => {
    const fail = (why: string) => {
      void stop()
      reject(new Error(`http bench: the server ${why}: ${out}`))
    }
    const timer = setTimeout(() => fail('did not start in 60 s'), 60_000)
    proc.once('exit', (code, signal) => {
      clearTimeout(timer)
      reject(new Error(`http bench: the server exited (${code ?? signal}): ${out}`))
    })
    proc.stderr!.on('data', (d: Buffer) => void (out += d.toString()))
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /^\{"port":(\d+)\}$/m.exec(out)
      if (!m) return
      clearTimeout(timer)
      resolveChild({ port: Number(m[1]), proc, stop })
    })
  })
}

const reply = async (res: Response): Promise<Reply> => ({ status: res.status, body: (await res.json()) as Record<string, unknown> })
const post = { method: 'POST', headers: { 'content-type': 'application/json' } } as const

/**
 * One attestation, both round trips. Throws (and counts the failure in `tally`) unless the start
 * answers 200 with a session and the answer 200 with verdict ok and one SVID.
 */
export async function attestOnce(send: Send, startJson: string, answerJson: string, tally?: { ok: number; failed: number }): Promise<void> {
  const start = await send('/v1/attest', startJson)
  const sessionId = start.body.sessionId
  let error: string | undefined
  if (start.status !== 200 || typeof sessionId !== 'string') error = `start answered ${start.status} ${JSON.stringify(start.body).slice(0, 300)}`
  else {
    const answer = await send(`/v1/attest/${sessionId}/answer`, answerJson)
    const svid = answer.body.svid
    if (answer.status !== 200 || answer.body.verdict !== 'ok' || !Array.isArray(svid) || svid.length !== 1) error = `answer ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`
  }
  if (error !== undefined) {
    if (tally) tally.failed++
    throw new Error(`http bench: attestation refused: ${error}`)
  }
  if (tally) tally.ok++
}

/**
 * Starts the fixture TPM, the server process and the in-process app; precomputes the TPM answer
 * for one fixed P-256 key and checks it passes on both. close() stops and removes everything.
 */
export async function openHttpBench(options: { port?: number; serverNodeArgs?: readonly string[] } = {}): Promise<HttpBench> {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-http-e2e-'))
  const cleanups: (() => unknown)[] = [() => rmSync(dir, { recursive: true, force: true })]
  const close = async () => {
    for (const c of cleanups.splice(0).reverse()) await c()
  }
  try {
    const policy = join(dir, 'policy.yaml')
    writePolicy(policy)
    const child = await spawnServer(writeConfig(dir, 'server', policy, options.port ?? 0), options.serverNodeArgs)
    cleanups.push(() => child.stop())
    const url = `http://127.0.0.1:${child.port}`
    const overHttp: Send = async (path, json) => reply(await fetch(url + path, { ...post, body: json }))

    const local: Bootstrapped = await bootstrap(loadConfigFile(writeConfig(dir, 'in-process', policy, 0), {}), { platform: await benchPlatform(), openDatabase: openSqliteWasm, write: () => {} })
    cleanups.push(() => local.close())
    const inProcess: Send = async (path, json) => reply(await local.app.request(path, { ...post, body: json }))

    // the one TPM answer: for the challenge both servers give every session, bound to one key
    const evidence = evidenceSet('tpm-a-devid-rsa') as Record<string, string>
    const startJson = JSON.stringify({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidence } })
    const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' })
    const binding = new Uint8Array(createHash('sha256').update(spki).digest())
    const start = await inProcess('/v1/attest', startJson)
    if (start.status !== 200) throw new Error(`http bench: the evidence was refused: ${start.status} ${JSON.stringify(start.body)}`)
    const challenge = (start.body.challenges as Record<string, Record<string, unknown>>).tpm_devid!
    const agent = await LiveAgent.start('tpm-a')
    let answer: Record<string, string>
    try {
      answer = await agent.answer(challenge, { devIdPub: evidence.DevIDPub!, akPub: evidence.AKPub!, ekPub: evidence.EKPub!, binding })
    } finally {
      await agent.stop()
    }
    const answerJson = JSON.stringify({ answers: { tpm_devid: answer }, publicKey: spki.toString('base64') })
    await attestOnce(inProcess, startJson, answerJson)
    await attestOnce(overHttp, startJson, answerJson)
    return { url, pid: child.proc.pid!, startJson, answerJson, overHttp, inProcess, close }
  } catch (e) {
    await close()
    throw e
  }
}

/** nearest-rank percentile of sorted values */
const percentile = (sorted: number[], p: number) => sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!

async function latencyRun(fn: () => Promise<void>, concurrency: number, ms: number, warmupMs: number, pid: number): Promise<LatencyRun> {
  const run = async (runMs: number, times?: number[]) => {
    const deadline = performance.now() + runMs
    await Promise.all(Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        const t = performance.now()
        await fn()
        times?.push(performance.now() - t)
      }
    }))
  }
  await run(warmupMs)
  const times: number[] = []
  const server0 = processCpuUs(pid)
  const client0 = process.cpuUsage()
  const t0 = performance.now()
  await run(ms, times)
  const wallMs = performance.now() - t0
  const client = process.cpuUsage(client0)
  const server1 = processCpuUs(pid)
  times.sort((a, b) => a - b)
  const n = times.length
  return {
    concurrency,
    attestations: n,
    opsPerSec: (n / wallMs) * 1000,
    p50Ms: percentile(times, 50),
    p95Ms: percentile(times, 95),
    p99Ms: percentile(times, 99),
    maxMs: times[n - 1]!,
    ...(server0 !== undefined && server1 !== undefined ? { serverCpuUsPerOp: (server1 - server0) / n } : {}),
    clientCpuUsPerOp: (client.user + client.system) / n,
  }
}

/**
 * The HTTP end-to-end rate and latency against the in-process rate of the same app. Opens a bench
 * (openHttpBench) and closes it afterwards unless one is given.
 */
export async function measureHttp(options: HttpBenchOptions = {}): Promise<HttpBenchResult> {
  const settings = {
    concurrency: options.concurrency ?? 16,
    rounds: options.rounds ?? 5,
    sampleMs: options.sampleMs ?? 400,
    warmupMs: options.warmupMs ?? 200,
    latencyMs: options.latencyMs ?? 2000,
  }
  const bench = options.bench ?? (await openHttpBench({ ...(options.port !== undefined ? { port: options.port } : {}), ...(options.serverNodeArgs ? { serverNodeArgs: options.serverNodeArgs } : {}) }))
  try {
    const tallyHttp = { ok: 0, failed: 0 }
    const tallyLocal = { ok: 0, failed: 0 }
    const viaHttp = () => attestOnce(bench.overHttp, bench.startJson, bench.answerJson, tallyHttp)
    const viaApp = () => attestOnce(bench.inProcess, bench.startJson, bench.answerJson, tallyLocal)
    const { concurrency, rounds, sampleMs, warmupMs, latencyMs } = settings
    const [http, inProcess] = await measureInterleaved(
      [
        { name: `HTTP end to end, one server process, ${concurrency} in flight`, fn: viaHttp, concurrency },
        { name: `same app in process (app.request), ${concurrency} in flight`, fn: viaApp, concurrency },
      ],
      { rounds, sampleMs, warmupMs },
    )
    const latency = [await latencyRun(viaHttp, 1, latencyMs, warmupMs, bench.pid), await latencyRun(viaHttp, concurrency, latencyMs, warmupMs, bench.pid)]
    const failed = tallyHttp.failed + tallyLocal.failed
    if (failed > 0) throw new Error(`http bench: ${failed} attestations failed`) // unreachable: attestOnce throws first
    return { http: http!, inProcess: inProcess!, ratio: pairedRatio(http!, inProcess!), latency, attestations: { http: tallyHttp.ok, inProcess: tallyLocal.ok, failed }, settings }
  } finally {
    if (!options.bench) await bench.close()
  }
}
