// Agent configuration (YAML, `vouch agent --config FILE`). Attestor configs follow the seed's
// agent document (spec §6.2 with camelCase keys); errors carry the seed's exact messages.
import { readFile } from 'node:fs/promises'
import { parse } from 'yaml'
import { EK_KINDS, type EkKind } from './tpm/session.ts'

export interface TpmDevIdConfig {
  readonly type: 'tpm_devid'
  readonly devIDCertPath: string
  readonly devIDPubPath: string
  readonly devIDPrivPath: string
  readonly devIDKeyPassword: string
  readonly ownerHierarchyPassword: string
  readonly endorsementHierarchyPassword: string
  readonly ekAlgorithm: EkKind
  /** NV index of the EK certificate; default: where the TCG profile puts it for ekAlgorithm */
  readonly ekCertificateNvIndex?: number
  /** the TCG event log sent with a boot quote; default DEFAULT_EVENT_LOG_PATH */
  readonly eventLogPath?: string
}

export interface TpmEkConfig {
  readonly type: 'tpm_ek'
  readonly ownerHierarchyPassword: string
  readonly endorsementHierarchyPassword: string
  readonly ekAlgorithm: EkKind
  readonly ekCertificateNvIndex?: number
  readonly eventLogPath?: string
}

/** Where Linux exposes the firmware's TCG event log. */
export const DEFAULT_EVENT_LOG_PATH = '/sys/kernel/security/tpm0/binary_bios_measurements'

export type AttestorConfig = TpmDevIdConfig | TpmEkConfig

/** Where the SPIFFE Workload API listens when agent.workloadApi names no socketPath. */
export const DEFAULT_WORKLOAD_SOCKET = '/run/vouch/agent.sock'

/** agent.workloadApi: the SPIFFE Workload API and Envoy SDS on a unix socket (absent: off). */
export interface WorkloadApiConfig {
  readonly socketPath: string
  /** how often entries and the bundle are fetched again, seconds (default 30) */
  readonly refreshIntervalSeconds: number
  /** entries kept for this agent (default 1,000) */
  readonly maxEntries: number
  /** JWT-SVIDs cached (default 1,000) */
  readonly maxJwtSvids: number
}

export interface AgentConfig {
  /** server base URL, e.g. https://127.0.0.1:8081 (the first of `servers`) */
  readonly server: string
  /**
   * every URL of the service, tried in this order (agent.servers, or agent.server alone); the
   * agent fails over between them (agent/failover.ts)
   */
  readonly servers: readonly string[]
  /** PEM bundle the server's TLS certificate must chain to (required for https) */
  readonly trustBundlePath?: string
  /**
   * allow an http:// server (evidence and the SVID travel unencrypted and unauthenticated): for a
   * test bench only; every attestation then logs a warning. Default false: http:// is refused.
   */
  readonly insecureHttp: boolean
  /** device path or TCTI string; undefined = auto-detect */
  readonly tpm?: string
  /** 'auto' | 'pure' | 'native' */
  readonly tpmBridge: 'auto' | 'pure' | 'native'
  /** where svid.key.pem, svid.pem and bundle.pem are written */
  readonly svidDir: string
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error'
  readonly attestors: readonly AttestorConfig[]
  /** the Workload API for workloads on this node; undefined: not served */
  readonly workloadApi?: WorkloadApiConfig
}

export class ConfigError extends Error {}

/** The most URLs agent.servers may list. */
export const MAX_SERVERS = 16

/** Every key parseAgentConfig reads, with what it is: what `vouch agent --help` lists. */
export const AGENT_CONFIG_KEYS: readonly { readonly key: string; readonly doc: string }[] = [
  { key: 'agent.server', doc: 'the vouch server URL, e.g. https://vouch.example:8081 (this or servers is required)' },
  {
    key: 'agent.servers',
    doc: `replicas of one vouch service, a list of up to ${MAX_SERVERS} URLs: on no answer, 5xx or 429 the agent moves to the next (jittered backoff, Retry-After honoured); a 4xx refusal is final`,
  },
  { key: 'agent.trustBundlePath', doc: "PEM the server's TLS certificate must chain to (its dataDir/ca/ca.pem); required for https" },
  { key: 'agent.tpm', doc: 'TPM device or TCTI: /dev/tpmrm0, swtpm:host=...,port=..., mssim:..., tabrmd: (default: auto-detect)' },
  { key: 'agent.tpmBridge', doc: 'auto | pure | native (the libtss2-tctildr addon); default auto' },
  { key: 'agent.svidDir', doc: 'where svid.pem, svid.key.pem (0600) and bundle.pem are written (default .)' },
  { key: 'agent.logLevel', doc: 'debug | info | warn | error (default info); JSON lines on stderr' },
  {
    key: 'agent.workloadApi.socketPath',
    doc: `serve the SPIFFE Workload API and Envoy SDS on this unix socket (default ${DEFAULT_WORKLOAD_SOCKET} when workloadApi is set; absent: off)`,
  },
  { key: 'agent.workloadApi.refreshIntervalSeconds', doc: 'fetch registration entries and the bundle again this often (default 30)' },
  { key: 'agent.workloadApi.maxEntries', doc: 'registration entries kept for this agent, at most (default 1000)' },
  { key: 'agent.workloadApi.maxJwtSvids', doc: 'JWT-SVIDs cached, at most (default 1000)' },
  { key: 'agent.attestors[].type', doc: 'tpm_devid or tpm_ek (at least one attestor)' },
  { key: 'agent.attestors[].config.devIDCertPath', doc: 'tpm_devid: DevID certificate PEM, leaf first, then intermediates (required)' },
  { key: 'agent.attestors[].config.devIDPubPath', doc: 'tpm_devid: the DevID TPMT_PUBLIC, with or without the TPM2B size (required)' },
  { key: 'agent.attestors[].config.devIDPrivPath', doc: 'tpm_devid: the DevID TPM2B_PRIVATE contents (required)' },
  { key: 'agent.attestors[].config.devIDKeyPassword', doc: 'tpm_devid: the DevID key auth value (default empty)' },
  { key: 'agent.attestors[].config.ownerHierarchyPassword', doc: 'owner hierarchy auth (default empty)' },
  { key: 'agent.attestors[].config.endorsementHierarchyPassword', doc: 'endorsement hierarchy auth (default empty)' },
  { key: 'agent.attestors[].config.ekAlgorithm', doc: 'rsa | ecc: the TCG EK template (default rsa)' },
]

function str(v: unknown, key: string): string {
  if (v === undefined || v === null) return ''
  if (typeof v !== 'string' && typeof v !== 'number') throw new ConfigError(`${key} must be a string`)
  return String(v)
}

function ekAlg(v: unknown, key: string): EkKind {
  const s = str(v, key) || 'rsa'
  if (!(EK_KINDS as readonly string[]).includes(s)) throw new ConfigError(`${key} must be one of ${EK_KINDS.join(', ')}, found "${s}"`)
  return s as EkKind
}

/** An NV index in the TCG EK certificate range 0x01c00000-0x01c07fff, as a number or hex text. */
function ekNvIndex(v: unknown, key: string): number | undefined {
  if (v === undefined || v === null || v === '') return undefined
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^0x[0-9a-f]{8}$/i.test(v) ? Number.parseInt(v, 16) : Number.NaN
  if (!Number.isInteger(n) || n < 0x01c00000 || n > 0x01c07fff) {
    throw new ConfigError(`${key} must be an NV index in 0x01c00000-0x01c07fff (for example 0x01c00016), found ${JSON.stringify(v)}`)
  }
  return n
}

const eventLog = (path: string) => (path ? { eventLogPath: path } : {})
const optionalIndex = (n: number | undefined) => (n === undefined ? {} : { ekCertificateNvIndex: n })

function attestor(raw: unknown, i: number): AttestorConfig {
  const key = `agent.attestors[${i}]`
  if (!raw || typeof raw !== 'object') throw new ConfigError(`${key} must be a mapping`)
  const { type, config = {} } = raw as { type?: unknown; config?: Record<string, unknown> }
  const c = (config ?? {}) as Record<string, unknown>
  const common = {
    ownerHierarchyPassword: str(c.ownerHierarchyPassword, `${key}.config.ownerHierarchyPassword`),
    endorsementHierarchyPassword: str(c.endorsementHierarchyPassword, `${key}.config.endorsementHierarchyPassword`),
    ekAlgorithm: ekAlg(c.ekAlgorithm, `${key}.config.ekAlgorithm`),
    ...optionalIndex(ekNvIndex(c.ekCertificateNvIndex, `${key}.config.ekCertificateNvIndex`)),
    ...eventLog(str(c.eventLogPath, `${key}.config.eventLogPath`)),
  }
  if (type === 'tpm_ek') return { type, ...common }
  if (type !== 'tpm_devid') throw new ConfigError(`${key}.type: unknown attestor type "${String(type)}" (tpm_devid or tpm_ek)`)
  const devIDCertPath = str(c.devIDCertPath, `${key}.config.devIDCertPath`)
  const devIDPubPath = str(c.devIDPubPath, `${key}.config.devIDPubPath`)
  const devIDPrivPath = str(c.devIDPrivPath, `${key}.config.devIDPrivPath`)
  if (!devIDCertPath) throw new ConfigError('devIDCertPath is required')
  if (!devIDPubPath) throw new ConfigError('devIDPubPath is required')
  if (!devIDPrivPath) throw new ConfigError('devIDPrivPath is required')
  return {
    type,
    devIDCertPath,
    devIDPubPath,
    devIDPrivPath,
    devIDKeyPassword: str(c.devIDKeyPassword, `${key}.config.devIDKeyPassword`),
    ...common,
  }
}

/** agent.server (one URL) or agent.servers (a list), not both; each a URL. */
function serverList(a: Record<string, unknown>): string[] {
  if (a.server !== undefined && a.servers !== undefined) throw new ConfigError('agent.server and agent.servers: give one of them')
  let list: string[]
  if (a.servers !== undefined) {
    if (!Array.isArray(a.servers) || a.servers.length === 0 || a.servers.length > MAX_SERVERS)
      throw new ConfigError(`agent.servers must list 1 to ${MAX_SERVERS} server URLs`)
    list = a.servers.map((v, i) => str(v, `agent.servers[${i}]`))
  } else {
    const server = str(a.server, 'agent.server')
    if (!server) throw new ConfigError('agent.server is required')
    list = [server]
  }
  list.forEach((server, i) => {
    try {
      new URL(server)
    } catch {
      throw new ConfigError(`${a.servers === undefined ? 'agent.server' : `agent.servers[${i}]`} "${server}" is not a URL`)
    }
  })
  if (new Set(list).size !== list.length) throw new ConfigError('agent.servers lists a URL twice')
  return list
}

function positiveInt(v: unknown, key: string, def: number, max: number): number {
  if (v === undefined || v === null) return def
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max) throw new ConfigError(`${key} must be an integer in 1..${max}`)
  return v
}

function workloadApi(raw: unknown, servers: readonly string[]): WorkloadApiConfig | undefined {
  if (raw === undefined || raw === null || raw === false) return undefined
  const w = raw === true ? {} : raw
  if (typeof w !== 'object' || Array.isArray(w))
    throw new ConfigError('agent.workloadApi must be a mapping (e.g. socketPath: /run/vouch/agent.sock)')
  const c = w as Record<string, unknown>
  for (const k of Object.keys(c))
    if (!['socketPath', 'refreshIntervalSeconds', 'maxEntries', 'maxJwtSvids'].includes(k))
      throw new ConfigError(`agent.workloadApi.${k}: unknown key (socketPath, refreshIntervalSeconds, maxEntries, maxJwtSvids)`)
  const socketPath = str(c.socketPath, 'agent.workloadApi.socketPath') || DEFAULT_WORKLOAD_SOCKET
  if (!socketPath.startsWith('/')) throw new ConfigError(`agent.workloadApi.socketPath must be an absolute path, found "${socketPath}"`)
  if (servers.some((server) => new URL(server).protocol !== 'https:'))
    throw new ConfigError('agent.workloadApi needs an https:// agent.server: workload SVIDs are fetched over mTLS with the node SVID')
  return {
    socketPath,
    refreshIntervalSeconds: positiveInt(c.refreshIntervalSeconds, 'agent.workloadApi.refreshIntervalSeconds', 30, 86_400),
    maxEntries: positiveInt(c.maxEntries, 'agent.workloadApi.maxEntries', 1_000, 100_000),
    maxJwtSvids: positiveInt(c.maxJwtSvids, 'agent.workloadApi.maxJwtSvids', 1_000, 100_000),
  }
}

export interface AgentConfigOverrides {
  /** --insecure-http: as agent.insecureHttp: true */
  readonly insecureHttp?: boolean
}

export function parseAgentConfig(text: string, source = 'config', overrides: AgentConfigOverrides = {}): AgentConfig {
  let doc: unknown
  try {
    doc = parse(text)
  } catch (e) {
    throw new ConfigError(`${source}: not YAML: ${(e as Error).message}`)
  }
  const a = (doc as { agent?: Record<string, unknown> } | null)?.agent
  if (!a || typeof a !== 'object') throw new ConfigError(`${source}: agent is required`)
  const servers = serverList(a)
  const list = a.attestors
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError('agent.attestors must list at least one attestor')
  const bridge = str(a.tpmBridge, 'agent.tpmBridge') || 'auto'
  if (bridge !== 'auto' && bridge !== 'pure' && bridge !== 'native') throw new ConfigError(`agent.tpmBridge must be auto, pure or native`)
  if (a.insecureHttp !== undefined && typeof a.insecureHttp !== 'boolean') throw new ConfigError('agent.insecureHttp must be true or false')
  const insecure = overrides.insecureHttp === true || a.insecureHttp === true
  const level = str(a.logLevel, 'agent.logLevel') || 'info'
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new ConfigError('agent.logLevel must be debug, info, warn or error')
  const attestors = list.map(attestor)
  for (const server of servers) checkServerScheme(server, insecure)
  const api = workloadApi(a.workloadApi, servers)
  return {
    server: servers[0]!,
    servers,
    trustBundlePath: str(a.trustBundlePath, 'agent.trustBundlePath') || undefined,
    insecureHttp: insecure,
    tpm: str(a.tpm, 'agent.tpm') || undefined,
    tpmBridge: bridge,
    svidDir: str(a.svidDir, 'agent.svidDir') || '.',
    logLevel: level as AgentConfig['logLevel'],
    attestors,
    ...(api ? { workloadApi: api } : {}),
  }
}

/**
 * https:// always; http:// only with `insecureHttp` (a test bench). Throws ConfigError naming the
 * key and the way out.
 */
export function checkServerScheme(server: string, insecureHttp: boolean): void {
  const protocol = new URL(server).protocol
  if (protocol === 'https:') return
  if (protocol === 'http:') {
    if (insecureHttp) return
    throw new ConfigError(
      `agent.server "${server}" is http://: the evidence and the SVID would travel unencrypted and the server unauthenticated; ` +
        'use https:// with agent.trustBundlePath, or set agent.insecureHttp: true (or --insecure-http) on a test bench only',
    )
  }
  throw new ConfigError(`agent.server "${server}": expected an https:// URL, found ${protocol}`)
}

export async function loadAgentConfig(path: string, overrides: AgentConfigOverrides = {}): Promise<AgentConfig> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (e) {
    throw new ConfigError(
      `read config ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`,
    )
  }
  return parseAgentConfig(text, path, overrides)
}
