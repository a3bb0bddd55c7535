// Agent configuration (YAML, `vouch agent --config FILE`). Attestor configs follow the seed's
// agent document (spec §6.2 with camelCase keys); errors carry the seed's exact messages.
import { readFile } from 'node:fs/promises'
import { parse } from 'yaml'

export interface TpmDevIdConfig {
  readonly type: 'tpm_devid'
  readonly devIDCertPath: string
  readonly devIDPubPath: string
  readonly devIDPrivPath: string
  readonly devIDKeyPassword: string
  readonly ownerHierarchyPassword: string
  readonly endorsementHierarchyPassword: string
  readonly ekAlgorithm: 'rsa' | 'ecc'
}

export interface TpmEkConfig {
  readonly type: 'tpm_ek'
  readonly ownerHierarchyPassword: string
  readonly endorsementHierarchyPassword: string
  readonly ekAlgorithm: 'rsa' | 'ecc'
}

export type AttestorConfig = TpmDevIdConfig | TpmEkConfig

export interface AgentConfig {
  /** server base URL, e.g. https://127.0.0.1:8081 */
  readonly server: string
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
}

export class ConfigError extends Error {}

function str(v: unknown, key: string): string {
  if (v === undefined || v === null) return ''
  if (typeof v !== 'string' && typeof v !== 'number') throw new ConfigError(`${key} must be a string`)
  return String(v)
}

function ekAlg(v: unknown, key: string): 'rsa' | 'ecc' {
  const s = str(v, key) || 'rsa'
  if (s !== 'rsa' && s !== 'ecc') throw new ConfigError(`${key} must be rsa or ecc, found "${s}"`)
  return s
}

function attestor(raw: unknown, i: number): AttestorConfig {
  const key = `agent.attestors[${i}]`
  if (!raw || typeof raw !== 'object') throw new ConfigError(`${key} must be a mapping`)
  const { type, config = {} } = raw as { type?: unknown; config?: Record<string, unknown> }
  const c = (config ?? {}) as Record<string, unknown>
  const common = {
    ownerHierarchyPassword: str(c.ownerHierarchyPassword, `${key}.config.ownerHierarchyPassword`),
    endorsementHierarchyPassword: str(c.endorsementHierarchyPassword, `${key}.config.endorsementHierarchyPassword`),
    ekAlgorithm: ekAlg(c.ekAlgorithm, `${key}.config.ekAlgorithm`),
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
  const server = str(a.server, 'agent.server')
  if (!server) throw new ConfigError('agent.server is required')
  try {
    new URL(server)
  } catch {
    throw new ConfigError(`agent.server "${server}" is not a URL`)
  }
  const list = a.attestors
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError('agent.attestors must list at least one attestor')
  const bridge = str(a.tpmBridge, 'agent.tpmBridge') || 'auto'
  if (bridge !== 'auto' && bridge !== 'pure' && bridge !== 'native') throw new ConfigError(`agent.tpmBridge must be auto, pure or native`)
  if (a.insecureHttp !== undefined && typeof a.insecureHttp !== 'boolean') throw new ConfigError('agent.insecureHttp must be true or false')
  const insecure = overrides.insecureHttp === true || a.insecureHttp === true
  const level = str(a.logLevel, 'agent.logLevel') || 'info'
  if (!['debug', 'info', 'warn', 'error'].includes(level)) throw new ConfigError('agent.logLevel must be debug, info, warn or error')
  const attestors = list.map(attestor)
  checkServerScheme(server, insecure)
  return {
    server,
    trustBundlePath: str(a.trustBundlePath, 'agent.trustBundlePath') || undefined,
    insecureHttp: insecure,
    tpm: str(a.tpm, 'agent.tpm') || undefined,
    tpmBridge: bridge,
    svidDir: str(a.svidDir, 'agent.svidDir') || '.',
    logLevel: level as AgentConfig['logLevel'],
    attestors,
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
