/**
 * Builds a running server from its config on a runtime with node:fs (Node and Bun): the data
 * dir, the policy, the CA (created on first start, key file 0600, written atomically), the agent
 * registry, the verifier and the app. The SQLite driver and the platform come from the entry.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { parse as parseYaml } from 'yaml'
import { createAttestationVerifier } from '../../core/attestation/verifier.ts'
import type { Platform } from '../../core/platform.ts'
import { parsePolicyDocument } from '../../core/policy/validate.ts'
import { createApp } from '../app.ts'
import { ServerCa, type ServerCaFiles } from '../ca/authority.ts'
import { JwtAuthority } from '../ca/jwt-authority.ts'
import { EntryStore } from '../registry/entries.ts'
import type { ClientCertificates } from '../routes/workload.ts'
import { parseServerConfig, type ServerConfig } from '../config.ts'
import { createJsonLogger, type Logger } from '../logging.ts'
import { Metrics } from '../metrics.ts'
import { AgentRegistry } from '../registry/registry.ts'
import type { SqlDatabase } from '../registry/sql.ts'
import { createMemorySessionStore, type SessionValue } from '../../core/session/store.ts'
import type { Hono } from 'hono'

export const TLS_CERT_TTL_MS = 30 * 86_400_000

export interface BootstrapDeps {
  readonly platform: Platform
  readonly openDatabase: (path: string) => SqlDatabase
  /** one JSON log line (default: stdout) */
  readonly write?: (line: string) => void
  readonly subtle?: SubtleCrypto
  /** the mTLS client certificate chain of a request (the entry's TLS socket) */
  readonly clientCertificates?: ClientCertificates
}

export interface Bootstrapped {
  readonly config: ServerConfig
  readonly app: Hono
  readonly ca: ServerCa
  readonly registry: AgentRegistry
  readonly entries: EntryStore
  readonly jwtAuthority: JwtAuthority
  readonly logger: Logger
  readonly metrics: Metrics
  /** PEM cert chain and key for the listener when config.tls */
  readonly tls?: { readonly certificatePem: string; readonly privateKeyPem: string }
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

async function loadOrCreateCa(config: ServerConfig, platform: Platform, subtle: SubtleCrypto, logger: Logger): Promise<ServerCa> {
  if (config.ca) {
    const files: ServerCaFiles = {
      certificatePem: readFileSync(config.ca.certFile, 'utf8'),
      privateKeyPem: readFileSync(config.ca.keyFile, 'utf8'),
    }
    return ServerCa.load(files, platform, subtle)
  }
  const dir = join(config.dataDir, 'ca')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const certPath = join(dir, 'ca.pem')
  const keyPath = join(dir, 'ca.key')
  if (existsSync(certPath) && existsSync(keyPath)) {
    return ServerCa.load({ certificatePem: readFileSync(certPath, 'utf8'), privateKeyPem: readFileSync(keyPath, 'utf8') }, platform, subtle)
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

export async function bootstrap(config: ServerConfig, deps: BootstrapDeps): Promise<Bootstrapped> {
  const platform = deps.platform
  const subtle = deps.subtle ?? globalThis.crypto.subtle
  const write = deps.write ?? ((line: string) => void process.stdout.write(line + '\n'))
  const logger = createJsonLogger(write, () => platform.now())
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 })
  const policies = parsePolicyDocument(parseYaml(readFileSync(config.policy, 'utf8')))
  const ca = await loadOrCreateCa(config, platform, subtle, logger)
  const jwtAuthority = await loadOrCreateJwtAuthority(config, subtle, logger)
  const db = deps.openDatabase(join(config.dataDir, 'agents.db'))
  const registry = new AgentRegistry(db)
  const entries = new EntryStore(db)
  const sessions = createMemorySessionStore<SessionValue>({ now: () => platform.now() })
  const verifier = createAttestationVerifier({
    policies,
    sessions,
    platform,
    trustDomain: config.trustDomain,
    sessionTtlMs: config.sessionTtlMs,
  })
  const metrics = new Metrics()
  const app = createApp({
    trustDomain: config.trustDomain,
    verifier,
    sessions,
    ca,
    registry,
    platform,
    logger,
    metrics,
    svidTtlMs: config.svidTtlMs,
    entries,
    jwtAuthority,
    ...(deps.clientCertificates ? { clientCertificates: deps.clientCertificates } : {}),
    ...(config.jwtIssuer ? { jwtIssuer: config.jwtIssuer } : {}),
  })
  const tls = config.tls ? await ca.issueTls(config.host, TLS_CERT_TTL_MS) : undefined
  return { config, app, ca, registry, entries, jwtAuthority, logger, metrics, ...(tls ? { tls } : {}), close: () => registry.close() }
}
