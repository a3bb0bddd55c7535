// HTTP attestations/s of `vouch server` with 1 and with 2 workers (bench/workers-server.ts: the
// CLI's single process, and the node:cluster primary with two workers), both on sealed sessions
// and PostgreSQL (what workers > 1 needs; each server its own database), both running for the
// whole measurement and measured in interleaved rounds, so the ratio holds on a shared machine.
// The load generator is this process (node:http keep-alive, 16 in flight, 16 sockets, which the
// primary spreads over its workers); every attestation is a whole one (start, then the answer with
// a key proof for that session) and a refused one stops the benchmark.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeSvidKeyProofMessage } from '../core/attestation/svid-key.ts'
import { evidenceSet, LiveAgent } from '../test/core/attestation/live-agent.ts'
import { policyDocument } from '../test/e2e/setup.ts'
import { postgresMissing, startPostgres } from '../test/support/postgres.ts'
import { measureInterleaved, pairedRatio, type Measurement } from './harness.ts'
import { spawnBenchServer } from './spawn-server.ts'
import { attestation, httpClient, type Send } from './http-bench.ts'

export interface WorkersBenchResult {
  readonly one: Measurement
  readonly two: Measurement
  /** two / one, median of per-round ratios */
  readonly ratio: number
  readonly cores: number
  readonly concurrency: number
  /**
   * CPU ms the server's processes (the primary and its workers) spent per attestation over the
   * whole measurement, from /proc: the cost per attestation, which the machine's other load does
   * not change the way it changes a rate
   */
  readonly cpuMsPerAttestation?: { readonly one: number; readonly two: number }
}

/** utime + stime (ms) of a process and its descendants, from /proc (Linux); undefined elsewhere. */
export function processTreeCpuMs(pid: number): number | undefined {
  const TICK_MS = 10 // USER_HZ is 100 on Linux
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    let ms = (Number(f[11]) + Number(f[12])) * TICK_MS
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim()
      for (const child of children ? children.split(' ') : []) ms += processTreeCpuMs(Number(child)) ?? 0
    }
    return ms
  } catch {
    return undefined
  }
}

export interface WorkersBenchOptions {
  readonly concurrency?: number
  readonly rounds?: number
  readonly sampleMs?: number
  readonly warmupMs?: number
}

/** Why the row cannot run here (no PostgreSQL), or undefined. */
export function workersBenchMissing(): string | undefined {
  return postgresMissing()
}

export async function measureWorkers(options: WorkersBenchOptions = {}): Promise<WorkersBenchResult> {
  const concurrency = options.concurrency ?? 16
  const dir = mkdtempSync(join(tmpdir(), 'vouch-workers-bench-'))
  const pg = await startPostgres()
  const agent = await LiveAgent.start('tpm-a')
  const servers: { url: string; pid: number; stop(): Promise<void> }[] = []
  const clients: { close(): void }[] = []
  try {
    const policy = join(dir, 'policy.json')
    writeFileSync(policy, JSON.stringify(policyDocument()))
    const keys = join(dir, 'session-keys.yaml')
    writeFileSync(keys, `- { id: bench, key: ${randomBytes(32).toString('base64')}, seal: true }\n`, { mode: 0o600 })
    const config = async (workers: number) => {
      const path = join(dir, `server-${workers}.yaml`)
      const database = await pg.createDatabase(`bench_workers_${workers}`)
      // one client address and one identity make every request: the rate limits are off
      writeFileSync(
        path,
        `trustDomain: example.org\nlisten: "127.0.0.1:0"\ndataDir: ${join(dir, `data-${workers}`)}\npolicy: ${policy}\ntls: false\n` +
          `rateLimit: { enabled: false }\nsessionKeys: ${keys}\ndatabase: ${database}\nworkers: ${workers}\n`,
      )
      return path
    }
    for (const workers of [1, 2]) servers.push(await spawnBenchServer('workers-server.ts', await config(workers)))
    const client = (url: string): Send => {
      const c = httpClient(url, concurrency)
      clients.push(c)
      return c
    }
    const one = client(servers[0]!.url)
    const two = client(servers[1]!.url)

    // one real attestation answered by the fixture TPM; the challenge material repeats on every
    // worker of both servers, so its answers hold for every later session
    const evidence = evidenceSet('tpm-a-devid-rsa') as Record<string, string>
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const spki = publicKey.export({ format: 'der', type: 'spki' })
    const binding = new Uint8Array(createHash('sha256').update(spki).digest())
    const start = await one('/v1/attest', { providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidence } })
    if (start.status !== 200) throw new Error(`workers bench: start answered ${start.status} ${JSON.stringify(start.body)}`)
    const challenge = (start.body.challenges as Record<string, Record<string, unknown>>).tpm_devid!
    const answers = {
      tpm_devid: await agent.answer(challenge, { devIdPub: evidence.DevIDPub!, akPub: evidence.AKPub!, ekPub: evidence.EKPub!, binding }),
    }
    const answerBody = (sessionId: string) => ({
      answers,
      publicKey: spki.toString('base64'),
      keyProof: sign('sha256', makeSvidKeyProofMessage(sessionId, binding), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString(
        'base64',
      ),
    })
    const counted = (fn: () => Promise<void>) => {
      const c = { n: 0, fn: async () => (await fn(), c.n++) }
      return c
    }
    const viaOne = counted(attestation(one, evidence, answerBody))
    const viaTwo = counted(attestation(two, evidence, answerBody))
    // warm both (JIT, caches, connections) before the CPU count starts: a fresh server process
    // starts near a tenth of its settled rate, and two workers warm on half the requests each
    const warm = async (fn: () => Promise<unknown>, ms: number) => {
      const end = performance.now() + ms
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          while (performance.now() < end) await fn()
        }),
      )
    }
    for (const c of [viaOne, viaTwo]) await warm(c.fn, options.warmupMs ?? 5000)
    const cpu0 = servers.map((s) => processTreeCpuMs(s.pid))
    const n0 = [viaOne.n, viaTwo.n]
    const [m1, m2] = await measureInterleaved(
      [
        { name: '1 worker', fn: viaOne.fn, concurrency },
        { name: '2 workers', fn: viaTwo.fn, concurrency },
      ],
      {
        warmupMs: 250,
        ...(options.rounds !== undefined ? { rounds: options.rounds } : {}),
        ...(options.sampleMs !== undefined ? { sampleMs: options.sampleMs } : {}),
      },
    )
    const cpu1 = servers.map((s) => processTreeCpuMs(s.pid))
    const perOp = (i: number, n: number) =>
      cpu0[i] === undefined || cpu1[i] === undefined ? Number.NaN : (cpu1[i]! - cpu0[i]!) / Math.max(1, n - n0[i]!)
    const cpuMs = { one: perOp(0, viaOne.n), two: perOp(1, viaTwo.n) }
    return {
      one: m1!,
      two: m2!,
      ratio: pairedRatio(m2!, m1!),
      cores: cpus().length,
      concurrency,
      ...(Number.isNaN(cpuMs.one) || Number.isNaN(cpuMs.two) ? {} : { cpuMsPerAttestation: cpuMs }),
    }
  } finally {
    for (const c of clients) c.close()
    for (const s of servers) await s.stop()
    await agent.stop()
    pg.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}
