/**
 * vouch's own attestors, one line each (docs/architecture.md "How to add an attestor"). Each lives
 * in its own folder here (config, attributes, decoders, checks, challenge, its Attestor object in
 * index.ts); the policy layer and the verifier know attestors only through a registry.
 */
import type { AnyAttestor } from '../attestor/attestor.ts'
import { type AttestorRegistry, createAttestorRegistry } from '../attestor/registry.ts'
import { tpmDevidAttestor } from './tpm-devid/index.ts'
import { tpmEkAttestor } from './tpm-ek/index.ts'

// biome-ignore format: one line per attestor
const BUILTINS = [
  tpmDevidAttestor,
  tpmEkAttestor,
] as const

/** The type names of the built-in attestors. */
export type BuiltinAttestorType = (typeof BUILTINS)[number]['type']

/** vouch's built-in attestors. */
export const BUILTIN_ATTESTORS: AttestorRegistry<BuiltinAttestorType> = createAttestorRegistry(BUILTINS)

/** The built-in attestors as a record by type (the registry's attestors; kept for the `vouch/attestation` API). */
export const ATTESTORS: { readonly [T in BuiltinAttestorType]: AnyAttestor } = Object.freeze(
  Object.fromEntries(BUILTIN_ATTESTORS.attestors.map((a) => [a.type, a])) as { [T in BuiltinAttestorType]: AnyAttestor },
)
