// HTTP attestations/s of `vouch server` with 1 and with 2 workers (bench/workers-server.ts: the
// CLI's single process, and the node:cluster primary with two workers), both on sealed sessions
// and PostgreSQL (what workers > 1 needs; each server its own database), both running for the
// whole measurement and measured in interleaved rounds, so the ratio holds on a shared machine.
// The load generator is this process (node:http keep-alive, `concurrency` in flight on as many
// sockets, which the primary spreads over its workers; bench/run.ts measures 16 and 64); every attestation is a whole one (start, then the answer with
// a key proof for that session) and a refused one stops the benchmark.
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { evidenceSet, LiveAgent } from '../test/core/attestation/live-agent.ts'
import { policyDocument } from '../test/e2e/setup.ts'
import { postgresMissing, startPostgres } from '../test/support/postgres.ts'
import { measureInterleaved, pairedRatio, type Measurement } from './harness.ts'
import { childPids, machineCpuMs, parentPid, processCpuMs, processSystemCpuMs, processTreeCpuMs } from './proc-cpu.ts'
import { spawnBenchServer } from './spawn-server.ts'
import { attestation, benchAgentAnswer, httpClient } from './http-bench.ts'
import { leanHttpClient } from './lean-http.ts'

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
  /** where the machine's CPU went during each contender's windows, ms per attestation (Linux) */
  readonly accounting?: { readonly one: CpuAccount; readonly two: CpuAccount }
  /** what the accounting says the rates could be (see {@link capacityOf}) */
  readonly capacity?: Capacity
  /** PostgreSQL transactions (commits and rollbacks) of each server's database per attestation */
  readonly transactionsPerAttestation: { readonly one: number; readonly two: number }
}

/**
 * Attestations/s from CPU per attestation, where the other programs on a shared machine make the
 * measured rates swing: `serverOnly`, a server whose processes had the cores to themselves (one
 * worker: one core, a Node process's main thread; two workers: two cores); `here`, the bench's own
 * processes (server, PostgreSQL, load generator) sharing this machine's cores with nothing else.
 */
export interface Capacity {
  readonly serverOnly: { readonly one: number; readonly two: number; readonly ratio: number }
  readonly here: { readonly one: number; readonly two: number; readonly ratio: number }
}

export function capacityOf(one: CpuAccount, two: CpuAccount, cores: number): Capacity {
  const server = (a: CpuAccount) => a.primary + a.workers
  const all = (a: CpuAccount) => server(a) + a.postgresBackends + a.postgresOther + a.loadGenerator
  const serverOnly = { one: 1000 / server(one), two: (Math.min(2, cores) * 1000) / server(two) }
  const here = { one: Math.min(1000 / server(one), (cores * 1000) / all(one)), two: (cores * 1000) / all(two) }
  return {
    serverOnly: { ...serverOnly, ratio: serverOnly.two / serverOnly.one },
    here: { ...here, ratio: here.two / here.one },
  }
}

/** xact_commit + xact_rollback of each database, from pg_stat_database. */
async function pgCommits(maintenanceUrl: string, databases: readonly string[]): Promise<number[]> {
  const { default: pgLib } = await import('pg')
  const client = new pgLib.Client({ connectionString: maintenanceUrl })
  await client.connect()
  try {
    const rows = (
      await client.query('SELECT datname, xact_commit + xact_rollback AS n FROM pg_stat_database WHERE datname = ANY($1)', [databases])
    ).rows as { datname: string; n: string }[]
    return databases.map((d) => Number(rows.find((r) => r.datname === d)?.n ?? Number.NaN))
  } finally {
    await client.end()
  }
}

/**
 * CPU ms per attestation during one contender's measured windows, by process (from /proc): the
 * load generator (this process), the server's primary (the one process with 1 worker) and its
 * workers, the PostgreSQL backends connected to that server's database, PostgreSQL's other
 * processes, and the rest of the machine (other programs); `idle` and `steal` complete the
 * machine's capacity, `capacity` = cores x wall time per attestation.
 */
export interface CpuAccount {
  readonly attestations: number
  readonly loadGenerator: number
  readonly primary: number
  readonly workers: number
  /** the kernel's part of primary + workers (system calls: sockets, epoll; page faults) */
  readonly serverSystem: number
  readonly postgresBackends: number
  readonly postgresOther: number
  readonly others: number
  readonly idle: number
  readonly steal: number
  readonly capacity: number
}

export interface WorkersBenchOptions {
  readonly concurrency?: number
  readonly rounds?: number
  readonly sampleMs?: number
  readonly warmupMs?: number
  /** attestations each worker process handles before the measurement (default 4000) */
  readonly warmupOpsPerWorker?: number
  /**
   * the load generator's HTTP client: 'lean' (bench/lean-http.ts, the default) or node:http's
   * keep-alive Agent (WORKERS_CLIENT=node:http), for comparing what the client costs
   */
  readonly client?: 'lean' | 'node:http'
  /**
   * keep-alive connections (default); false (WORKERS_KEEPALIVE=0): a new connection per request,
   * which the cluster's primary accepts and hands to a worker (lean client only)
   */
  readonly keepAlive?: boolean
}

/** Why the row cannot run here (no PostgreSQL), or undefined. */
export function workersBenchMissing(): string | undefined {
  return postgresMissing()
}

export async function measureWorkers(options: WorkersBenchOptions = {}): Promise<WorkersBenchResult> {
  const concurrency = options.concurrency ?? 16
  const dir = mkdtempSync(join(tmpdir(), 'vouch-workers-bench-'))
  // durable commits, as a production server has them (the tests run PostgreSQL with fsync off)
  const pg = await startPostgres({ fsync: true })
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
    const clientKind = options.client ?? (process.env.WORKERS_CLIENT === 'node:http' ? 'node:http' : 'lean')
    // the set-up goes through node:http either way
    const setup = httpClient(servers[0]!.url, 1)
    clients.push(setup)

    // one real attestation answered by the fixture TPM; the challenge material repeats on every
    // worker of both servers, so its answers hold for every later session
    const evidence = evidenceSet('tpm-a-devid-rsa') as Record<string, string>
    const startBody = { providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidence } }
    const { answers, publicKeyBase64, keyProof, body: answerBody } = await benchAgentAnswer(setup, agent, evidence, 'workers bench')
    const attest = (url: string): (() => Promise<void>) => {
      if (clientKind === 'node:http') {
        const c = httpClient(url, concurrency)
        clients.push(c)
        return attestation(c, evidence, answerBody)
      }
      const c = leanHttpClient(url, concurrency, { keepAlive: options.keepAlive ?? process.env.WORKERS_KEEPALIVE !== '0' })
      clients.push(c)
      // the same bytes JSON.stringify makes of the same objects, the unchanging parts serialized once
      const startJson = Buffer.from(JSON.stringify(startBody))
      const answersHead = Buffer.from(`{"answers":${JSON.stringify(answers)},"publicKey":"${publicKeyBase64}","keyProof":"`)
      return async () => {
        const started = await c.post('/v1/attest', startJson)
        if (started.status !== 200) throw new Error(`workers bench: start answered ${started.status} ${started.body}`)
        const sessionId = (JSON.parse(started.body) as { sessionId: string }).sessionId
        const answered = await c.post(`/v1/attest/${sessionId}/answer`, answersHead, `${keyProof(sessionId)}"}`)
        if (answered.status !== 200 || (JSON.parse(answered.body) as { verdict?: unknown }).verdict !== 'ok')
          throw new Error(`workers bench: answer ${answered.status} ${answered.body}`)
      }
    }
    const counted = (fn: () => Promise<void>) => {
      const c = { n: 0, fn: async () => (await fn(), c.n++) }
      return c
    }
    const viaOne = counted(attest(servers[0]!.url))
    const viaTwo = counted(attest(servers[1]!.url))
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
    // by attestations per worker process as well as by time: V8 keeps optimizing vouch's attestation
    // path for its first thousands of operations, in each worker on its own (with a 5 s warm-up
    // alone, 2 workers measured 25-60% more CPU per attestation than 1, with 20 s 16%)
    const warmupMs = options.warmupMs ?? Number(process.env.WORKERS_WARMUP_MS ?? 5000)
    const warmupOpsPerWorker = options.warmupOpsPerWorker ?? Number(process.env.WORKERS_WARMUP_OPS ?? 4000)
    for (const [i, c] of [viaOne, viaTwo].entries()) {
      const t0 = performance.now()
      while (performance.now() - t0 < warmupMs || c.n < warmupOpsPerWorker * (i + 1)) {
        if (performance.now() - t0 > 60_000) break
        await warm(c.fn, 500)
      }
    }
    const cpu0 = servers.map((s) => processTreeCpuMs(s.pid))
    const n0 = [viaOne.n, viaTwo.n]
    const databases = ['bench_workers_1', 'bench_workers_2']
    const commits0 = await pgCommits(pg.url('postgres'), databases)
    const account = await cpuAccounting(
      servers.map((s) => s.pid),
      pg.url('postgres'),
      databases,
      [viaOne, viaTwo],
    )
    const [m1, m2] = await measureInterleaved(
      [
        { name: '1 worker', fn: viaOne.fn, concurrency },
        { name: '2 workers', fn: viaTwo.fn, concurrency },
      ],
      {
        warmupMs: 250,
        ...(account ? { onWindow: account.onWindow } : {}),
        ...(options.rounds !== undefined ? { rounds: options.rounds } : {}),
        ...(options.sampleMs !== undefined ? { sampleMs: options.sampleMs } : {}),
      },
    )
    const cpu1 = servers.map((s) => processTreeCpuMs(s.pid))
    // PostgreSQL publishes its counters up to a second late
    await new Promise((r) => setTimeout(r, 1500))
    const commits1 = await pgCommits(pg.url('postgres'), databases)
    const perOp = (i: number, n: number) =>
      cpu0[i] === undefined || cpu1[i] === undefined ? Number.NaN : (cpu1[i]! - cpu0[i]!) / Math.max(1, n - n0[i]!)
    const cpuMs = { one: perOp(0, viaOne.n), two: perOp(1, viaTwo.n) }
    const perAttestation = (i: number, n: number) => (commits1[i]! - commits0[i]!) / Math.max(1, n - n0[i]!)
    return {
      one: m1!,
      two: m2!,
      ratio: pairedRatio(m2!, m1!),
      cores: cpus().length,
      concurrency,
      ...(Number.isNaN(cpuMs.one) || Number.isNaN(cpuMs.two) ? {} : { cpuMsPerAttestation: cpuMs }),
      ...(account
        ? {
            accounting: { one: account.result(0), two: account.result(1) },
            capacity: capacityOf(account.result(0), account.result(1), cpus().length),
          }
        : {}),
      transactionsPerAttestation: { one: perAttestation(0, viaOne.n), two: perAttestation(1, viaTwo.n) },
    }
  } finally {
    for (const c of clients) c.close()
    for (const s of servers) await s.stop()
    await agent.stop()
    pg.stop()
    rmSync(dir, { recursive: true, force: true })
  }
}

interface Snapshot {
  readonly at: number
  readonly attestations: number
  readonly loadGeneratorUs: number
  readonly machine: NonNullable<ReturnType<typeof machineCpuMs>>
  readonly pids: Map<number, number>
  /** the kernel's part, server processes only */
  readonly system: Map<number, number>
}

/**
 * Per-window CPU accounting of the contenders (Linux /proc; undefined elsewhere): snapshots at the
 * start and end of every measured window, summed per contender. The PostgreSQL backends of each
 * server are found by their database's name in pg_stat_activity once the pools are warm.
 */
async function cpuAccounting(
  serverPids: readonly number[],
  maintenanceUrl: string,
  databases: readonly string[],
  counters: readonly { readonly n: number }[],
): Promise<{ onWindow(i: number, edge: 'start' | 'end'): void; result(i: number): CpuAccount } | undefined> {
  if (machineCpuMs() === undefined) return undefined
  const { default: pgLib } = await import('pg')
  const client = new pgLib.Client({ connectionString: maintenanceUrl })
  await client.connect()
  let backends: Map<number, number>
  let postmaster: number | undefined
  try {
    const rows = (await client.query('SELECT pid, datname FROM pg_stat_activity WHERE datname = ANY($1)', [databases])).rows as {
      pid: number
      datname: string
    }[]
    backends = new Map(rows.map((r) => [r.pid, databases.indexOf(r.datname)]))
    postmaster = parentPid((await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid as number)
  } finally {
    await client.end()
  }
  const serverTree = serverPids.map((pid) => [pid, ...childPids(pid)])
  const snapshot = (i: number): Snapshot => {
    const pids = new Map<number, number>()
    const all = [...serverTree.flat(), ...(postmaster ? [postmaster, ...childPids(postmaster)] : [])]
    for (const pid of all) {
      const ms = processCpuMs(pid)
      if (ms !== undefined) pids.set(pid, ms)
    }
    const system = new Map<number, number>()
    for (const pid of serverTree.flat()) {
      const ms = processSystemCpuMs(pid)
      if (ms !== undefined) system.set(pid, ms)
    }
    const cpu = process.cpuUsage()
    return {
      at: performance.now(),
      attestations: counters[i]!.n,
      loadGeneratorUs: cpu.user + cpu.system,
      machine: machineCpuMs()!,
      pids,
      system,
    }
  }
  const zero = () => ({
    serverSystem: 0,
    attestations: 0,
    wallMs: 0,
    loadGenerator: 0,
    primary: 0,
    workers: 0,
    postgresBackends: 0,
    postgresOther: 0,
    busy: 0,
    idle: 0,
    steal: 0,
  })
  const sums = serverPids.map(zero)
  let open: Snapshot | undefined
  return {
    onWindow(i, edge) {
      if (edge === 'start') {
        open = snapshot(i)
        return
      }
      const a = open!
      const b = snapshot(i)
      const s = sums[i]!
      s.attestations += b.attestations - a.attestations
      s.wallMs += b.at - a.at
      s.loadGenerator += (b.loadGeneratorUs - a.loadGeneratorUs) / 1000
      s.busy += b.machine.busyMs - a.machine.busyMs
      s.idle += b.machine.idleMs - a.machine.idleMs
      s.steal += b.machine.stealMs - a.machine.stealMs
      for (const [pid, ms] of b.pids) {
        const d = ms - (a.pids.get(pid) ?? ms)
        const server = serverTree.findIndex((t) => t.includes(pid))
        if (server === i) {
          if (pid === serverPids[i]) s.primary += d
          else s.workers += d
          s.serverSystem += (b.system.get(pid) ?? 0) - (a.system.get(pid) ?? b.system.get(pid) ?? 0)
        } else if (server < 0) {
          if (backends.get(pid) === i) s.postgresBackends += d
          else if (!backends.has(pid)) s.postgresOther += d
        }
      }
    },
    result(i) {
      const s = sums[i]!
      const per = (ms: number) => ms / Math.max(1, s.attestations)
      const known = s.loadGenerator + s.primary + s.workers + s.postgresBackends + s.postgresOther
      return {
        attestations: s.attestations,
        loadGenerator: per(s.loadGenerator),
        primary: per(s.primary),
        workers: per(s.workers),
        serverSystem: per(s.serverSystem),
        postgresBackends: per(s.postgresBackends),
        postgresOther: per(s.postgresOther),
        others: per(Math.max(0, s.busy - known)),
        idle: per(s.idle),
        steal: per(s.steal),
        capacity: per(s.busy + s.idle + s.steal),
      }
    },
  }
}
