/**
 * Builds a running server from its config on a runtime with node:fs (Node and Bun): the data
 * dir, the policy, the CA (created on first start, key file 0600, written atomically), the agent
 * registry, the verifier and the app. The SQLite driver and the platform come from the entry.
 *
 * Then keeps it running without restarts: `maintain()` (on a timer) rotates the server CA when
 * it is within `caRotateBefore` of expiry (and warns from twice that), and reissues the listener
 * certificate `tlsRenewBefore` ahead of its expiry, telling the entry through `onTlsRenewed` so
 * it swaps the secure context; the policy is reloaded on change and on SIGHUP (policy-reload.ts).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createAttestationVerifier } from '../../core/attestation/verifier.ts'
import type { Platform } from '../../core/platform.ts'
import { createApp } from '../app.ts'
import { ServerCa, type ServerCaFiles } from '../ca/authority.ts'
import { JwtAuthority } from '../ca/jwt-authority.ts'
import { type AnswerLedger, sqliteAnswerLedger } from '../registry/answer-ledger.ts'
import { pgAnswerLedger } from '../registry/answer-ledger-pg.ts'
import { SharedJwtAuthorities } from '../registry/jwt-authorities.ts'
import { type EntryStore, SqliteEntryStore } from '../registry/entries.ts'
import type { ClientCertificates } from '../routes/workload.ts'
import { parseServerConfig, type ServerConfig } from '../config.ts'
import { createJsonLogger, type LogFields, type Logger } from '../logging.ts'
import { Metrics } from '../metrics.ts'
import { AgentRegistry } from '../registry/registry.ts'
import type { AgentStore } from '../registry/store.ts'
import { openAgentStore } from './registry-open.ts'
import { moveLocalEntries } from './entries-move.ts'
import type { AsyncSqlDatabase, SqlDatabase } from '../registry/sql.ts'
import { createMemorySessionStore, type SessionValue } from '../../core/session/store.ts'
import { makeRandomSessionKeyring, type SessionKeyring } from '../../core/session/sealed.ts'
import type { UseOnceStore } from '../../core/session/use-once.ts'
import { createAsyncSqlUseOnceStore, createSqlUseOnceStore } from '../registry/use-once.ts'
import { parseSessionKeys } from '../session-keys.ts'
import type { Hono } from 'hono'
import { PolicyReloader } from './policy-reload.ts'

import { TLS_CERT_TTL_MS } from '../config.ts'
export { TLS_CERT_TTL_MS }
export const CA_ROTATE_BEFORE_MS = 365 * 86_400_000
/** the longest wait between two maintenance checks */
export const MAINTENANCE_INTERVAL_MS = 3_600_000
const BUNDLE_SEQUENCE = 'bundle_sequence'

export interface TlsMaterial {
  readonly certificatePem: string
  readonly privateKeyPem: string
  /** the leaf's notAfter, ms */
  readonly notAfter: number
}

export interface BootstrapDeps {
  readonly platform: Platform
  /** `onStaleLock`: the driver removed a crashed holder's lock (node-sqlite3-wasm; sqlite-wasm.ts) */
  readonly openDatabase: (path: string, options?: { onStaleLock?: (event: object) => void }) => SqlDatabase
  /** one JSON log line (default: stdout) */
  readonly write?: (line: string) => void
  readonly subtle?: SubtleCrypto
  /** the mTLS client certificate chain of a request (the entry's TLS socket) */
  readonly clientCertificates?: ClientCertificates
  /** where VOUCH_SESSION_KEYS is read (default process.env) */
  readonly env?: Readonly<Record<string, string | undefined>>
  /**
   * `single` (default): one process does everything. With `workers: N` (server/entry/cluster.ts)
   * the `primary` prepares what every worker shares (data dir, CA, JWT key, migrations), rotates
   * the CA and serves nothing: no policy watch, no listener certificate. A `worker` serves and
   * renews its own listener certificate but leaves CA rotation to the primary.
   */
  readonly role?: 'single' | 'primary' | 'worker'
  /** fields on every log line (a worker's id and pid) */
  readonly logFields?: LogFields
}

export interface Bootstrapped {
  readonly config: ServerConfig
  readonly app: Hono
  readonly ca: ServerCa
  readonly registry: AgentStore
  readonly entries: EntryStore
  readonly jwtAuthority: JwtAuthority
  /** use-once records of answered sealed sessions held now (0 with `sessions: memory`) */
  usedSessions(): Promise<number>
  readonly logger: Logger
  readonly metrics: Metrics
  /** PEM cert chain and key for the listener when config.tls (the latest issued) */
  readonly tls?: TlsMaterial
  readonly policy: PolicyReloader
  /** the URL the listener serves (the entry tells it once listening): the default JWT issuer */
  setListenUrl(url: string): void
  /** `listener` gets each reissued listener certificate (the entry swaps its secure context) */
  onTlsRenewed(listener: (tls: TlsMaterial) => void): void
  /** one maintenance pass: CA rotation when due, listener certificate renewal when due */
  maintain(): Promise<void>
  /** rotates the server CA now (persisted; bundle sequence +1; listener certificate reissued) */
  rotateCa(): Promise<void>
  close(): void
}

export function loadConfigFile(path: string, env: Readonly<Record<string, string | undefined>> = process.env): ServerConfig {
  return parseServerConfig(readFileSync(path, 'utf8'), env)
}

function writeAtomic(path: string, text: string, mode: number): void {
  const tmp = `${path}.tmp-${process.pid}`
  writeFileSync(tmp, text, { mode })
  chmodSync(tmp, mode)
  renameSync(tmp, path)
}

function caPaths(config: ServerConfig) {
  const dir = join(config.dataDir, 'ca')
  return { dir, cert: join(dir, 'ca.pem'), key: join(dir, 'ca.key'), retired: join(dir, 'retired.pem'), cross: join(dir, 'cross.pem') }
}

/**
 * A rotation cut short by a crash: once `ca.pem.new` exists the new pair is whole (the key was
 * written first), so the renames are completed; a lone `ca.key.new` is an uncommitted rotation.
 */
function finishRotation(paths: ReturnType<typeof caPaths>, logger: Logger): void {
  if (existsSync(`${paths.cert}.new`)) {
    if (existsSync(`${paths.key}.new`)) renameSync(`${paths.key}.new`, paths.key)
    renameSync(`${paths.cert}.new`, paths.cert)
    logger.warn('Server CA rotation completed at start', { path: paths.cert })
  } else if (existsSync(`${paths.key}.new`)) rmSync(`${paths.key}.new`)
}

const readIf = (path: string): string | undefined => (existsSync(path) ? readFileSync(path, 'utf8') : undefined)

async function loadOrCreateCa(config: ServerConfig, platform: Platform, subtle: SubtleCrypto, logger: Logger): Promise<ServerCa> {
  if (config.ca) {
    const files: ServerCaFiles = {
      certificatePem: readFileSync(config.ca.certFile, 'utf8'),
      privateKeyPem: readFileSync(config.ca.keyFile, 'utf8'),
    }
    return ServerCa.load(files, platform, subtle)
  }
  const paths = caPaths(config)
  const { dir, cert: certPath, key: keyPath } = paths
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  finishRotation(paths, logger)
  if (existsSync(certPath) && existsSync(keyPath)) {
    const retiredPem = readIf(paths.retired)
    const crossPem = readIf(paths.cross)
    return ServerCa.load(
      {
        certificatePem: readFileSync(certPath, 'utf8'),
        privateKeyPem: readFileSync(keyPath, 'utf8'),
        ...(retiredPem ? { retiredPem } : {}),
        ...(crossPem ? { crossPem } : {}),
      },
      platform,
      subtle,
    )
  }
  const { ca, files } = await ServerCa.create(config.trustDomain, platform, subtle)
  // key first: a crash between the two writes leaves no certificate, so the next start re-creates both
  writeAtomic(keyPath, files.privateKeyPem, 0o600)
  writeAtomic(certPath, files.certificatePem, 0o644)
  logger.info('Server CA created', { path: certPath })
  return ca
}

/** The JWT-SVID signing key in `<dataDir>/ca/jwt.key` (PKCS#8 PEM, 0600), created on first start. */
async function loadOrCreateJwtAuthority(config: ServerConfig, subtle: SubtleCrypto, logger: Logger): Promise<JwtAuthority> {
  const dir = join(config.dataDir, 'ca')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const keyPath = join(dir, 'jwt.key')
  if (existsSync(keyPath)) return JwtAuthority.load(readFileSync(keyPath, 'utf8'), subtle)
  const { authority, privateKeyPem } = await JwtAuthority.create(subtle)
  writeAtomic(keyPath, privateKeyPem, 0o600)
  logger.info('JWT-SVID signing key created', { path: keyPath, kid: authority.kid })
  return authority
}

/** The keyring from `sessionKeys` (a file), else VOUCH_SESSION_KEYS, else one random key for this process. */
function loadSessionKeyring(
  config: ServerConfig,
  env: Readonly<Record<string, string | undefined>>,
  platform: Platform,
  logger: Logger,
): SessionKeyring {
  if (config.sessionKeys !== undefined) {
    const keyring = parseSessionKeys(readFileSync(config.sessionKeys, 'utf8'), 'sessionKeys')
    logger.info('Session keys loaded', { source: 'file', keys: keyring.keys.size, sealKeyId: keyring.sealKey.id })
    return keyring
  }
  const inline = env.VOUCH_SESSION_KEYS
  if (inline !== undefined && inline.trim() !== '') {
    const keyring = parseSessionKeys(inline, 'VOUCH_SESSION_KEYS')
    logger.info('Session keys loaded', { source: 'env', keys: keyring.keys.size, sealKeyId: keyring.sealKey.id })
    return keyring
  }
  logger.warn('Session keys: a random key for this process', {
    detail: 'one replica only; sessions pending at a restart are refused. Set sessionKeys or VOUCH_SESSION_KEYS',
  })
  return makeRandomSessionKeyring(platform)
}

export async function bootstrap(config: ServerConfig, deps: BootstrapDeps): Promise<Bootstrapped> {
  const platform = deps.platform
  const subtle = deps.subtle ?? globalThis.crypto.subtle
  const write = deps.write ?? ((line: string) => void process.stdout.write(line + '\n'))
  const role = deps.role ?? 'single'
  const logger = createJsonLogger(write, () => platform.now(), deps.logFields)
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
  const memory = config.sessions === 'memory' ? createMemorySessionStore<SessionValue>({ now: () => platform.now() }) : undefined
  // sealed: the use-once records live in agents.db, opened below (answers only come once the app runs)
  let usedSessions: UseOnceStore | undefined
  const useOnce: UseOnceStore = {
    claim: (id, expiresAt) => usedSessions!.claim(id, expiresAt),
    size: () => usedSessions!.size(),
    seen: (id) => usedSessions?.seen?.(id) ?? false,
  }
  const keyring = memory ? undefined : loadSessionKeyring(config, deps.env ?? process.env, platform, logger)
  const sessionsOption = keyring ? { sealedSessions: { keyring, useOnce } } : { sessions: memory! }
  const metrics = new Metrics()
  const policy = new PolicyReloader({
    path: config.policy,
    logger,
    now: () => platform.now(),
    makeVerifier: (policies) =>
      createAttestationVerifier({
        policies,
        ...sessionsOption,
        platform,
        trustDomain: config.trustDomain,
        sessionTtlMs: config.sessionTtlMs,
      }),
  })
  metrics.policy = () => ({ generation: policy.state.generation, sha256: policy.state.sha256, failures: policy.failures })
  const ca = await loadOrCreateCa(config, platform, subtle, logger)
  const jwtAuthority = await loadOrCreateJwtAuthority(config, subtle, logger)
  // the agent registry, the registration entries and the use-once records: in PostgreSQL when
  // config.database names one (shared by replicas and workers), else in the SQLite file
  const db =
    config.database === undefined
      ? deps.openDatabase(join(config.dataDir, 'agents.db'), {
          onStaleLock: (event) => logger.warn('Stale database lock cleared', { ...event }),
        })
      : undefined
  let registry: AgentStore
  try {
    registry = db ? new AgentRegistry(db) : await openAgentStore(config, deps.openDatabase)
  } catch (e) {
    db?.close()
    throw e
  }
  const shared = (registry as { readonly queries?: AsyncSqlDatabase }).queries
  let entries: EntryStore
  // sealed sessions: how an answer's claim and record are written (AnswerOptions.settle)
  let answers: AnswerLedger
  if (shared) {
    const { PgEntryStore } = await import('../registry/entries-pg.ts')
    const pgEntries = new PgEntryStore(shared)
    // entries this replica kept in its own agents.db before they were shared move there once
    if (role !== 'worker')
      await moveLocalEntries(config.dataDir, (path) => deps.openDatabase(path), pgEntries, logger).catch((e: unknown) =>
        logger.error('Registration entries not moved to the shared database', { error: (e as Error).message }),
      )
    entries = pgEntries
    const pgUsed = createAsyncSqlUseOnceStore(shared, { now: () => platform.now() })
    usedSessions = pgUsed
    // an answer's use-once claim and its agent record: one statement, one commit
    answers = pgAnswerLedger(shared, pgUsed)
  } else {
    entries = new SqliteEntryStore(db!)
    const sqliteUsed = createSqlUseOnceStore(db!, { now: () => platform.now() })
    usedSessions = sqliteUsed
    // an answer's use-once claim and its agent record: one transaction, one durable commit
    answers = sqliteAnswerLedger(sqliteUsed, registry as AgentRegistry)
  }
  // with PostgreSQL every replica publishes its JWT-SVID public key there and serves all of them
  const jwtAuthorities = shared
    ? new SharedJwtAuthorities(shared, jwtAuthority, {
        now: () => platform.now(),
        logger,
        // the bundle's spiffe_sequence changes with the list of keys too, the same on every replica
        sequence: {
          next: async () => registry.nextSequence(BUNDLE_SEQUENCE),
          read: async () => Number(await registry.sequence(BUNDLE_SEQUENCE)),
          seen: (value) => {
            if (BigInt(value) > ca.sequence) ca.sequence = BigInt(value)
          },
        },
      })
    : undefined
  try {
    await jwtAuthorities?.publish()
  } catch (e) {
    db?.close()
    await Promise.resolve(registry.close()).catch(() => undefined)
    throw e
  }
  if ((await registry.sequence(BUNDLE_SEQUENCE)) === 0) await registry.nextSequence(BUNDLE_SEQUENCE)
  ca.sequence = BigInt(await registry.sequence(BUNDLE_SEQUENCE))
  let listenUrl: string | undefined
  const app = createApp({
    trustDomain: config.trustDomain,
    verifier: policy.verifier,
    // sealed sessions keep no state per start: nothing to count (the gauge reads 0)
    sessions: memory ?? { active: () => 0 },
    ca,
    registry,
    platform,
    logger,
    metrics,
    svidTtlMs: config.svidTtlMs,
    policyState: () => ({ generation: policy.state.generation, sha256: policy.state.sha256 }),
    rateLimit: config.rateLimit,
    // sealed sessions: a start keeps nothing (no identity limit at start; docs/protocol.md)
    startsKeepState: memory !== undefined,
    entries,
    ...(memory ? {} : { answers }),
    jwtAuthority,
    ...(jwtAuthorities ? { jwtAuthorities } : {}),
    ...(deps.clientCertificates ? { clientCertificates: deps.clientCertificates } : {}),
    jwtIssuer: () => config.jwtIssuer ?? listenUrl,
  })

  const tlsTtl = config.tlsCertTtlMs ?? TLS_CERT_TTL_MS
  const renewBefore = config.tlsRenewBeforeMs ?? Math.floor(tlsTtl / 3)
  const rotateBefore = config.caRotateBeforeMs ?? CA_ROTATE_BEFORE_MS
  const listens = role !== 'primary'
  let tls: TlsMaterial | undefined = config.tls && listens ? await ca.issueTls(config.host, tlsTtl, config.serverNames) : undefined
  const listeners: ((t: TlsMaterial) => void)[] = []
  metrics.certificates = () => ({
    caNotAfter: ca.certificate.notAfter,
    ...(tls ? { tlsNotAfter: tls.notAfter } : {}),
    bundleSequence: ca.sequence,
  })
  const renewTls = async (reason: string) => {
    if (!config.tls || !listens) return
    tls = await ca.issueTls(config.host, tlsTtl, config.serverNames)
    logger.info('Listener certificate renewed', { reason, notAfter: new Date(tls.notAfter).toISOString() })
    for (const l of listeners) l(tls)
  }
  const rotateCa = async () => {
    if (config.ca) throw new Error('the server CA is loaded from ca.certFile/ca.keyFile: rotate it there and restart')
    const rotated = await ca.rotate(config.trustDomain)
    const paths = caPaths(config)
    // crash safety: the retired roots and the cross certificate first (a load drops a retired copy of
    // the current root and a cross certificate for another key), then the new pair as .new files,
    // the sequence, and the renames, key before certificate; a load finishes renames a crash cut short
    writeAtomic(paths.retired, rotated.retiredPem, 0o644)
    writeAtomic(paths.cross, rotated.crossPem, 0o644)
    writeAtomic(`${paths.key}.new`, rotated.files.privateKeyPem, 0o600)
    // the sequence goes up before the certificate's .new file (the commit marker a start finishes):
    // a crash in between leaves a higher sequence over the old root, which is harmless, never the new
    // root under the old sequence
    ca.sequence = BigInt(await registry.nextSequence(BUNDLE_SEQUENCE))
    writeAtomic(`${paths.cert}.new`, rotated.files.certificatePem, 0o644)
    renameSync(`${paths.key}.new`, paths.key)
    renameSync(`${paths.cert}.new`, paths.cert)
    logger.warn('Server CA rotated', {
      generation: ca.generation,
      sequence: String(ca.sequence),
      notAfter: new Date(ca.certificate.notAfter).toISOString(),
    })
    await renewTls('server CA rotated')
  }
  let warnedCa = false
  // workers leave the rotation to the primary, which restarts them onto the new CA
  const rotates = !config.ca && role !== 'worker'
  const maintain = async () => {
    // first: it never throws, and a CA rotation or a renewal that keeps failing below must not stop
    // this replica's JWT key from being renewed in the shared database (other replicas would drop it)
    await jwtAuthorities?.maintain()
    const now = platform.now()
    const caLeft = ca.certificate.notAfter - now
    if (caLeft < rotateBefore && rotates) await rotateCa()
    else if (caLeft < 2 * rotateBefore && !warnedCa) {
      warnedCa = true
      logger.warn('Server CA expires soon', {
        notAfter: new Date(ca.certificate.notAfter).toISOString(),
        rotation: config.ca
          ? 'manual (ca.certFile)'
          : role === 'worker'
            ? 'by the primary'
            : new Date(ca.certificate.notAfter - rotateBefore).toISOString(),
      })
    }
    if (tls && now >= tls.notAfter - renewBefore) await renewTls('expires soon')
  }
  await maintain()
  const interval = Math.max(1000, Math.min(MAINTENANCE_INTERVAL_MS, Math.floor(renewBefore / 4)))
  const timer = setInterval(() => {
    maintain().catch((e: unknown) => logger.error('Maintenance failed', { error: (e as Error).message }))
  }, interval)
  timer.unref?.()
  if (listens) policy.watch({ file: config.policyWatch ?? true, sighup: true })
  return {
    config,
    app,
    ca,
    registry,
    entries,
    jwtAuthority,
    usedSessions: () => (memory ? Promise.resolve(0) : useOnce.size()),
    logger,
    metrics,
    policy,
    get tls() {
      return tls
    },
    onTlsRenewed: (l) => void listeners.push(l),
    setListenUrl: (url) => {
      listenUrl = url
    },
    maintain,
    rotateCa,
    close: () => {
      clearInterval(timer)
      policy.close()
      if (db) db.close()
      else {
        // a stopping service retires its JWT key (a worker leaves that to its primary), then lets go of PostgreSQL
        const retired = jwtAuthorities && role !== 'worker' ? jwtAuthorities.retire().catch(() => undefined) : Promise.resolve()
        void retired.then(() => registry.close()).catch(() => undefined)
      }
    },
  }
}
