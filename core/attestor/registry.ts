/**
 * An attestor registry: the attestors a policy document may name and a verifier runs, by type.
 * core/attestors/registry.ts holds vouch's own (BUILTIN_ATTESTORS); an application adds one with
 * `createAttestorRegistry([...BUILTIN_ATTESTORS.attestors, itsAttestor])` and hands the registry
 * to `validatePolicyDocument` and `createAttestationVerifier`. A malformed attestor is a
 * programming error: TypeError at registration, never at attestation time.
 */
import type { AnyAttestor } from './attestor.ts'

export interface AttestorRegistry<T extends string = string> {
  /** the registered types, in registration order (the order a verifier checks answers in) */
  readonly types: readonly T[]
  readonly attestors: readonly AnyAttestor[]
  get(type: string): AnyAttestor | undefined
  has(type: unknown): type is T
}

const TYPE_NAME = /^[a-z][a-z0-9_]{0,63}$/
/** config keys the policy layer reads for every attestor */
const RESERVED_CONFIG_KEYS = ['type', 'tolerate', 'boot']

function checkAttestor(a: AnyAttestor): void {
  const t = a?.type
  if (typeof t !== 'string' || !TYPE_NAME.test(t)) throw new TypeError(`attestor type ${JSON.stringify(t)} is not [a-z][a-z0-9_]*`)
  for (const k of a.attributeKeys) {
    if (!k.startsWith(`${t}.`)) throw new TypeError(`attestor ${t}: attribute key ${JSON.stringify(k)} does not start with "${t}."`)
  }
  for (const k of a.configKeys) {
    if (RESERVED_CONFIG_KEYS.includes(k)) throw new TypeError(`attestor ${t}: config key "${k}" is read by the policy layer`)
  }
  if (!a.attributeKeys.includes(a.identityAttribute))
    throw new TypeError(`attestor ${t}: the identity attribute ${JSON.stringify(a.identityAttribute)} is not one of its attribute keys`)
  if (!a.defaultSpiffeIdTemplate.startsWith('/')) throw new TypeError(`attestor ${t}: the default SPIFFE ID template must start with "/"`)
  for (const f of ['parseConfig', 'checkSelectorValue', 'checkEvidence', 'makeChallenge', 'checkAnswer'] as const) {
    if (typeof a[f] !== 'function') throw new TypeError(`attestor ${t}: ${f} is not a function`)
  }
}

/** A registry of `attestors` (distinct types), in their order. Throws TypeError on a malformed or repeated attestor. */
export function createAttestorRegistry<const A extends readonly AnyAttestor[]>(attestors: A): AttestorRegistry<A[number]['type']> {
  type T = A[number]['type']
  const byType = new Map<string, AnyAttestor>()
  for (const a of attestors) {
    checkAttestor(a)
    if (byType.has(a.type)) throw new TypeError(`attestor type ${a.type} is registered twice`)
    byType.set(a.type, a)
  }
  const types = Object.freeze([...byType.keys()]) as readonly T[]
  return Object.freeze({
    types,
    attestors: Object.freeze([...byType.values()]),
    get: (type: string) => byType.get(type),
    has: (type: unknown): type is T => typeof type === 'string' && byType.has(type),
  })
}
