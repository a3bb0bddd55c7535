// The Worker's configuration, all from bindings, read once per isolate: the policy, the session
// keys, the CA, and the attestation verifier they make. Errors name the binding, never a secret.
import { createAttestationCaches, createAttestationVerifier, parsePolicyDocument, type AttestationVerifier } from 'vouch'
import { makeSessionKeyring, type SessionKey } from 'vouch/attestation'
import { fromBase64 } from 'vouch/bytes'
import { createEdgePlatform, type EdgePlatform } from 'vouch/edge'
import kernels from 'vouch/wasm/kernels.wasm'
import { loadCa, type WorkerCa } from './ca'
import { durableObjectUseOnceStore, type UseOnceNamespace } from './use-once'

export interface Env {
  /** the trust domain of the SPIFFE IDs issued (vars) */
  readonly TRUST_DOMAIN: string
  /** the AgentAttestation policy document, as JSON text (vars) */
  readonly POLICY: string
  /** the CA certificate, PEM (vars) */
  readonly CA_CERT: string
  /** the CA's PKCS#8 private key, PEM (secret) */
  readonly CA_KEY: string
  /** the session keys, JSON: [{ "id": "k1", "key": "<base64 of 32 bytes>", "seal": true }, ...] (secret) */
  readonly SESSION_KEYS: string
  /** X.509-SVID lifetime in seconds (vars; default 3600) */
  readonly SVID_TTL_SECONDS?: string
  /** attestation session lifetime in seconds (vars; default 300) */
  readonly SESSION_TTL_SECONDS?: string
  /** the Durable Object namespace of the use-once records */
  readonly USE_ONCE: UseOnceNamespace
}

export interface Service {
  readonly platform: EdgePlatform
  readonly verifier: AttestationVerifier
  readonly ca: WorkerCa
  readonly svidTtlMs: number
}

/** a binding in whole seconds, as ms */
function seconds(name: string, text: string | undefined, fallback: number): number {
  const n = text === undefined || text === '' ? fallback : Number(text)
  if (!Number.isInteger(n) || n < 1 || n > 31 * 86_400) throw new Error(`${name}: expected whole seconds from 1 to 2678400`)
  return n * 1000
}

/** SESSION_KEYS: the list `vouch server` takes in VOUCH_SESSION_KEYS, as JSON. */
function sessionKeys(text: string) {
  let list: unknown
  try {
    list = JSON.parse(text)
  } catch {
    throw new Error('SESSION_KEYS: not JSON')
  }
  if (!Array.isArray(list) || list.length === 0) throw new Error('SESSION_KEYS: expected a non-empty list of {id, key, seal}')
  const keys: SessionKey[] = list.map((e: unknown, i) => {
    const { id, key, seal, retired } = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>
    if (typeof id !== 'string') throw new Error(`SESSION_KEYS[${i}].id: expected a string`)
    let bytes: Uint8Array
    try {
      bytes = fromBase64(String(key))
    } catch {
      throw new Error(`SESSION_KEYS[${i}].key: expected base64 of 32 bytes`)
    }
    return { id, key: bytes, seal: seal === true, retired: retired === true }
  })
  try {
    return makeSessionKeyring(keys)
  } catch (e) {
    throw new Error(`SESSION_KEYS: ${(e as Error).message}`)
  }
}

async function makeService(env: Env): Promise<Service> {
  // Web Crypto plus the WASM kernels (imported precompiled: workerd cannot compile WASM from bytes),
  // and the bounded caches a verifier that serves many agents wants
  const platform = await createEdgePlatform({ wasm: kernels, overrides: createAttestationCaches() })
  let policyDocument: unknown
  try {
    policyDocument = JSON.parse(env.POLICY)
  } catch {
    throw new Error('POLICY: not JSON')
  }
  const verifier = createAttestationVerifier({
    policies: parsePolicyDocument(policyDocument),
    // the session state travels to the agent sealed; only answers write, a use-once record
    sealedSessions: { keyring: sessionKeys(env.SESSION_KEYS), useOnce: durableObjectUseOnceStore(env.USE_ONCE) },
    platform,
    trustDomain: env.TRUST_DOMAIN,
    sessionTtlMs: seconds('SESSION_TTL_SECONDS', env.SESSION_TTL_SECONDS, 300),
  })
  const ca = await loadCa(env.CA_CERT, env.CA_KEY, platform)
  return { platform, verifier, ca, svidTtlMs: seconds('SVID_TTL_SECONDS', env.SVID_TTL_SECONDS, 3600) }
}

let service: Promise<Service> | undefined

/** The service of this isolate, made at its first request (a failure is retried at the next). */
export function serviceFor(env: Env): Promise<Service> {
  service ??= makeService(env).catch((e: unknown) => {
    service = undefined
    throw e
  })
  return service
}
