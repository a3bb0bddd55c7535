/**
 * `workers: N` on Node: N processes serve one listening socket (node:cluster; the primary accepts
 * and hands connections to the workers in turn).
 *
 * The primary prepares, before it forks, everything the workers must share and must not race on
 * creating: the data dir, the server CA and the JWT-SVID key (created on first start), the schema
 * migrations, the bundle sequence, and the sealed-session keyring (from `sessionKeys`, or the
 * operator's VOUCH_SESSION_KEYS, or with neither one random keyring for this service). Secrets from
 * the environment reach every worker over the cluster IPC channel (a keyring from
 * VOUCH_SESSION_KEYS or generated here, and VOUCH_DATABASE_URL); the workers start with those
 * variables removed from their environment (WORKER_SECRET_ENV). It loads the policy too,
 * so a bad document stops the start before any fork.
 * Then it serves nothing itself.
 *
 * - A worker that dies is restarted after 250 ms, doubling per quick failure to at most 10 s; a
 *   worker that ran 30 s is forgiven its earlier failures. After 8 failures in a row of one slot
 *   the service stops (exit 1), so a supervisor sees a server that cannot run.
 * - SIGTERM/SIGINT: every worker finishes its open requests and exits; the primary then exits.
 * - SIGHUP is passed to every worker (each rereads the policy). The primary also looks at the CA
 *   files then (and every minute): when they changed (a rotation by the primary's maintenance, or
 *   new ca.certFile/keyFile contents), the workers are restarted one at a time onto the new CA,
 *   each replacement listening before its predecessor stops.
 * - Limits held in memory are per worker: the connection cap, the per-address and per-identity
 *   rate limits, and the metrics a scrape reads (docs/deploy.md "Workers").
 */
import cluster, { type Worker } from 'node:cluster'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { loadServerPlatform } from '../../runtimes/node/index.ts'
import type { ServerConfig } from '../config.ts'
import { bootstrap } from './bootstrap.ts'
import { openSqliteWasm } from './sqlite-wasm.ts'

/** The environment variable telling a worker its slot (1..N). */
export const WORKER_ID_ENV = 'VOUCH_WORKER_ID'
export const RESTART_BASE_MS = 250
export const RESTART_MAX_MS = 10_000
/** failures in a row of one slot (each within STABLE_MS of its start) before the service stops */
export const RESTART_MAX_FAILURES = 8
export const STABLE_MS = 30_000
/** how long a stopping worker may take before it is killed */
export const STOP_GRACE_MS = 10_000
const CA_CHECK_MS = 60_000

/**
 * The environment variables that carry secrets: a worker gets them from the primary over the
 * cluster IPC channel ({@link receiveWorkerSecrets}) and starts with them removed from its
 * environment, which /proc/<pid>/environ shows to any process of the same user and every child
 * inherits. VOUCH_SESSION_KEYS: the operator's keyring, or the one the primary generated;
 * VOUCH_DATABASE_URL: a PostgreSQL URL, password included.
 */
export const WORKER_SECRET_ENV = ['VOUCH_SESSION_KEYS', 'VOUCH_DATABASE_URL'] as const
export type WorkerSecretName = (typeof WORKER_SECRET_ENV)[number]
export type WorkerSecrets = Partial<Record<WorkerSecretName, string>>

/**
 * Set (to "1") in a worker's environment when the primary holds secrets for it
 * ({@link WORKER_SECRET_ENV}): the worker asks for them over the IPC channel before it reads its
 * config.
 */
export const WORKER_SECRETS_IPC_ENV = 'VOUCH_WORKER_SECRETS_IPC'
/** how long a worker waits for the primary's secrets */
export const WORKER_SECRETS_WAIT_MS = 10_000

/** A worker asks the primary for its secrets; the primary answers with {@link WorkerSecretsMessage}. */
export interface WorkerSecretsRequest {
  readonly vouch: 'secrets?'
}

export interface WorkerSecretsMessage {
  readonly vouch: 'secrets'
  readonly env: WorkerSecrets
}

/** The secrets in `env` (non-empty values of {@link WORKER_SECRET_ENV}). */
export function workerSecretsOf(env: NodeJS.ProcessEnv): WorkerSecrets {
  const out: WorkerSecrets = {}
  for (const name of WORKER_SECRET_ENV) if ((env[name] ?? '').trim() !== '') out[name] = env[name]
  return out
}

/**
 * In a worker: the secrets the primary holds, asked for over the IPC channel, as environment
 * variables to read the config with (empty when the primary sent the worker none).
 */
export function receiveWorkerSecrets(env: NodeJS.ProcessEnv = process.env, waitMs = WORKER_SECRETS_WAIT_MS): Promise<WorkerSecrets> {
  if (env[WORKER_SECRETS_IPC_ENV] !== '1') return Promise.resolve({})
  const send = process.send?.bind(process)
  if (!send) return Promise.reject(new Error(`${WORKER_SECRETS_IPC_ENV} is set but there is no IPC channel to the primary`))
  return new Promise((resolve, reject) => {
    const onMessage = (m: Partial<WorkerSecretsMessage> | undefined) => {
      if (m?.vouch !== 'secrets' || typeof m.env !== 'object' || m.env === null) return
      done()
      const secrets: WorkerSecrets = {}
      for (const name of WORKER_SECRET_ENV) if (typeof m.env[name] === 'string') secrets[name] = m.env[name]
      resolve(secrets)
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`no secrets from the primary in ${waitMs} ms`))
    }, waitMs)
    const done = () => {
      clearTimeout(timer)
      process.off('message', onMessage)
    }
    process.on('message', onMessage)
    send({ vouch: 'secrets?' } satisfies WorkerSecretsRequest)
  })
}

/** The message a worker sends the primary once it listens. */
export interface ListeningMessage {
  readonly vouch: 'listening'
  readonly url: string
}

export interface RestartPolicy {
  readonly baseMs: number
  readonly maxMs: number
  readonly maxFailures: number
  readonly stableMs: number
}

export const RESTART_POLICY: RestartPolicy = {
  baseMs: RESTART_BASE_MS,
  maxMs: RESTART_MAX_MS,
  maxFailures: RESTART_MAX_FAILURES,
  stableMs: STABLE_MS,
}

/** The delay before restarting a slot after its `failures`-th failure in a row (1-based). */
export function restartDelayMs(failures: number, policy: RestartPolicy = RESTART_POLICY): number {
  return Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failures - 1))
}

export interface ClusterOptions {
  /** one JSON log line */
  readonly write: (line: string) => void
  /** the worker's script (default: this process's, as `vouch server` runs it) */
  readonly exec?: string
  readonly restart?: Partial<RestartPolicy>
}

export interface ClusterPrimary {
  readonly url: string
  /** resolves with an exit code when the service stops on its own (a worker kept failing) */
  readonly failed: Promise<number>
  /** the pids of the workers alive now, by slot */
  pids(): number[]
  close(): Promise<void>
}

interface Slot {
  readonly id: number
  worker?: Worker
  startedAt: number
  failures: number
  timer?: ReturnType<typeof setTimeout>
}

/** SHA-256 over the CA files the workers load, to see a rotation or a replacement. */
function caFingerprint(config: ServerConfig): string {
  const dir = join(config.dataDir, 'ca')
  const files = config.ca
    ? [config.ca.certFile, config.ca.keyFile]
    : ['ca.pem', 'ca.key', 'retired.pem', 'cross.pem'].map((f) => join(dir, f))
  const h = createHash('sha256')
  for (const f of files) h.update(existsSync(f) ? readFileSync(f) : Buffer.alloc(0)).update('\0')
  return h.digest('hex')
}

function waitExit(w: Worker, graceMs: number): Promise<void> {
  if (w.isDead()) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => w.process.kill('SIGKILL'), graceMs)
    timer.unref()
    w.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
  })
}

export async function startClusterPrimary(config: ServerConfig, o: ClusterOptions): Promise<ClusterPrimary> {
  const policy: RestartPolicy = { ...RESTART_POLICY, ...o.restart }
  if (o.exec) cluster.setupPrimary({ exec: o.exec, args: [] })
  const env: Record<string, string | undefined> = { ...process.env }
  // one keyring for every worker: a session sealed by one is opened by another. Without a
  // `sessionKeys` file it goes to the workers over IPC: the operator's VOUCH_SESSION_KEYS, else one
  // generated here
  let generatedKeys: string | undefined
  if (config.sessionKeys === undefined && (env.VOUCH_SESSION_KEYS ?? '').trim() === '') {
    generatedKeys = `- { id: w${randomBytes(4).toString('hex')}, key: ${randomBytes(32).toString('base64')}, seal: true }\n`
    env.VOUCH_SESSION_KEYS = generatedKeys
  }
  // what the workers get over IPC: the keyring (unless a `sessionKeys` file holds it, which the
  // workers read themselves) and the database URL from the environment
  const secrets = workerSecretsOf(env)
  if (config.sessionKeys !== undefined) delete secrets.VOUCH_SESSION_KEYS
  const hasSecrets = Object.keys(secrets).length > 0
  const prepared = await bootstrap(config, {
    platform: await loadServerPlatform(),
    openDatabase: openSqliteWasm,
    write: o.write,
    role: 'primary',
    env,
  })
  const log = prepared.logger
  if (generatedKeys)
    log.warn('Session keys: a random key for these workers', {
      detail: 'sessions pending at a restart are refused and other replicas cannot answer them. Set sessionKeys or VOUCH_SESSION_KEYS',
    })
  let phase: 'starting' | 'running' | 'stopping' = 'starting'
  let forkedCa = caFingerprint(config)
  let resolveFailed: (code: number) => void = () => {}
  const failed = new Promise<number>((r) => {
    resolveFailed = r
  })
  const slots: Slot[] = Array.from({ length: config.workers }, (_, i) => ({ id: i + 1, startedAt: 0, failures: 0 }))
  // workers that listen: they handle SIGHUP (one still starting would die of it, and reads the
  // policy as it is anyway)
  const ready = new WeakSet<Worker>()

  const fork = (slot: Slot): Promise<string> =>
    new Promise((resolve, reject) => {
      // secrets go over the IPC channel on the worker's request, never through its environment:
      // an undefined value leaves the operator's variable out of the worker's
      const w = cluster.fork({
        [WORKER_ID_ENV]: String(slot.id),
        ...Object.fromEntries(WORKER_SECRET_ENV.map((name) => [name, undefined])),
        ...(hasSecrets ? { [WORKER_SECRETS_IPC_ENV]: '1' } : {}),
      })
      slot.worker = w
      slot.startedAt = Date.now()
      let listened = false
      w.on('message', (m: Partial<ListeningMessage | WorkerSecretsRequest> | undefined) => {
        if (m?.vouch === 'secrets?') {
          if (hasSecrets) w.send({ vouch: 'secrets', env: secrets } satisfies WorkerSecretsMessage)
          return
        }
        if (m?.vouch !== 'listening' || typeof m.url !== 'string') return
        listened = true
        ready.add(w)
        resolve(m.url)
      })
      w.once('exit', (code, signal) => {
        // before it listened, the caller decides (fail the start, keep the old worker, retry later)
        if (!listened) reject(new Error(`worker ${slot.id} exited (${signal ?? `code ${code}`}) before it listened`))
        else onExit(slot, w, code, signal)
      })
    })

  const scheduleRestart = (slot: Slot, pid: number | undefined, code: number | null, signal: string | null) => {
    if (slot.failures > policy.maxFailures) {
      log.error('Worker keeps failing: stopping the server', { worker: slot.id, failures: slot.failures - 1 })
      resolveFailed(1)
      return
    }
    const delay = restartDelayMs(slot.failures, policy)
    log.warn('Worker exited', { worker: slot.id, pid, code, signal, restartInMs: delay })
    slot.timer = setTimeout(() => {
      slot.timer = undefined
      if (phase !== 'running') return
      fork(slot).then(
        () => log.info('Worker restarted', { worker: slot.id, pid: slot.worker?.process.pid }),
        () => {
          if (phase !== 'running') return
          const failedPid = slot.worker?.process.pid
          slot.worker = undefined
          slot.failures++
          scheduleRestart(slot, failedPid, null, null)
        },
      )
    }, delay)
  }

  const onExit = (slot: Slot, w: Worker, code: number | null, signal: string | null) => {
    if (phase !== 'running' || slot.worker !== w) return
    slot.worker = undefined
    slot.failures = Date.now() - slot.startedAt >= policy.stableMs ? 1 : slot.failures + 1
    scheduleRestart(slot, w.process.pid, code, signal)
  }

  const stopAll = async () => {
    const running = slots.flatMap((s) => {
      clearTimeout(s.timer)
      return s.worker ? [s.worker] : []
    })
    for (const w of running) if (!w.isDead()) w.process.kill('SIGTERM')
    await Promise.all(running.map((w) => waitExit(w, STOP_GRACE_MS)))
  }

  /** one slot at a time: the replacement listens before its predecessor stops */
  let restarting: Promise<void> | undefined
  const rollingRestart = async (reason: string) => {
    for (const slot of slots) {
      if (phase !== 'running') return
      // a slot waiting for its restart gets the new CA from that restart
      if (!slot.worker || slot.timer) continue
      const old = slot.worker
      try {
        await fork(slot)
      } catch (e) {
        if (phase !== 'running') return
        log.error('Worker restart failed; the old one stays', { worker: slot.id, reason, error: (e as Error).message })
        slot.worker = old
        if (old.isDead()) {
          // it died while its replacement was starting: restart it as any other
          slot.worker = undefined
          slot.failures++
          scheduleRestart(slot, old.process.pid, old.process.exitCode, old.process.signalCode)
        }
        continue
      }
      if (!old.isDead()) {
        old.process.kill('SIGTERM')
        await waitExit(old, STOP_GRACE_MS)
      }
      log.info('Worker replaced', { worker: slot.id, reason, pid: slot.worker?.process.pid, previousPid: old.process.pid })
    }
  }
  const checkCa = (reason: string) => {
    if (phase !== 'running' || restarting) return
    const now = caFingerprint(config)
    if (now === forkedCa) return
    forkedCa = now
    log.warn('Server CA files changed: restarting the workers one at a time', { reason })
    restarting = rollingRestart('server CA changed').finally(() => {
      restarting = undefined
    })
  }
  const onHup = () => {
    for (const s of slots) if (s.worker && ready.has(s.worker) && !s.worker.isDead()) s.worker.process.kill('SIGHUP')
    checkCa('SIGHUP')
  }
  process.on('SIGHUP', onHup)
  const caTimer = setInterval(() => checkCa('maintenance'), CA_CHECK_MS)
  caTimer.unref()

  let url: string
  try {
    const urls = await Promise.all(slots.map(fork))
    url = urls[0]!
  } catch (e) {
    phase = 'stopping'
    clearInterval(caTimer)
    process.off('SIGHUP', onHup)
    await stopAll()
    prepared.close()
    throw e
  }
  phase = 'running'
  log.info('Server listening', { url, trustDomain: config.trustDomain, workers: config.workers })
  return {
    url,
    failed,
    pids: () => slots.flatMap((s) => (s.worker && !s.worker.isDead() && s.worker.process.pid ? [s.worker.process.pid] : [])),
    close: async () => {
      phase = 'stopping'
      clearInterval(caTimer)
      process.off('SIGHUP', onHup)
      await restarting
      await stopAll()
      prepared.close()
    },
  }
}
