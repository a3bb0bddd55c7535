/**
 * The built-in attestor types and what policies may name of them (issue 3 "Attributes"; the
 * seed's table), read from the registry (core/attestors/registry.ts): the attribute keys each
 * produces (the placeholders a SPIFFE ID template may use; a template naming any other key does
 * not validate) and its default SPIFFE ID template. Each attestor declares these in its folder.
 */
import { BUILTIN_ATTESTORS, type BuiltinAttestorType } from '../attestors/registry.ts'

export { bootAttributeKeys } from '../attestor/boot-policy.ts'

/** The types of the built-in attestors, in registry order. */
export const ATTESTOR_TYPES: readonly BuiltinAttestorType[] = BUILTIN_ATTESTORS.types
export type AttestorType = BuiltinAttestorType

export function isAttestorType(x: unknown): x is AttestorType {
  return BUILTIN_ATTESTORS.has(x)
}

function byType<V>(value: (type: AttestorType) => V): Readonly<Record<AttestorType, V>> {
  return Object.freeze(Object.fromEntries(ATTESTOR_TYPES.map((t) => [t, value(t)])) as Record<AttestorType, V>)
}

/** Per built-in type, its attribute keys. */
export const ATTRIBUTE_KEYS: Readonly<Record<AttestorType, readonly string[]>> = byType((t) => BUILTIN_ATTESTORS.get(t)!.attributeKeys)

/** Default SPIFFE ID path template per built-in type. */
export const DEFAULT_SPIFFE_ID_TEMPLATES: Readonly<Record<AttestorType, string>> = byType(
  (t) => BUILTIN_ATTESTORS.get(t)!.defaultSpiffeIdTemplate,
)
