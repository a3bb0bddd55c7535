/**
 * The registered attestors (core/attestation/attestor.ts), by type. Each lives in its own folder
 * under attestors/ (decoders, checks, challenge, session, and its Attestor object in index.ts);
 * the verifier looks attestors up here and nowhere else.
 */
import type { AttestorType } from '../policy/attribute-keys.ts'
import type { Attestor } from './attestor.ts'
import { tpmDevidAttestor } from './attestors/tpm-devid/index.ts'
import { tpmEkAttestor } from './attestors/tpm-ek/index.ts'

export { tpmDevidAttestor, tpmEkAttestor }

/** Every attestor the verifier knows, by type. */
export const ATTESTORS: { readonly [T in AttestorType]: Attestor } = {
  tpm_devid: tpmDevidAttestor as unknown as Attestor,
  tpm_ek: tpmEkAttestor as unknown as Attestor,
}
