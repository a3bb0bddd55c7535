/**
 * Credential activation, shared by the attestors that challenge an EK with a credential bound to
 * Name(AK): the secret's size, the proof the agent returns, and its constant-time check.
 */
import { fromBase64 } from '../bytes/encoding.ts'
import { checkActivatedSecret } from '../credential/activation.ts'
import { CREDENTIAL_SECRET_MISMATCH } from '../messages.ts'
import type { Platform } from '../platform.ts'
import type { CheckLog } from './checks.ts'

export const ACTIVATION_SECRET_BYTES = 32

/** The activation proof the agent must return: the secret, or HMAC-SHA256(secret, binding) (docs/protocol.md "Key binding"). */
export async function activationProof(secret: Uint8Array, binding: Uint8Array | undefined, platform: Platform): Promise<Uint8Array> {
  return binding ? platform.crypto.hmac('SHA-256', secret, binding) : secret
}

export async function checkActivation(
  log: CheckLog,
  name: string,
  secretB64: string,
  presented: Uint8Array,
  binding: Uint8Array | undefined,
  platform: Platform,
): Promise<void> {
  const expected = await activationProof(fromBase64(secretB64), binding, platform)
  log.runSync(
    name,
    () => checkActivatedSecret(expected, presented, platform),
    { code: 'ERR_CREDENTIAL_MISMATCH', message: CREDENTIAL_SECRET_MISMATCH },
    () =>
      binding ? 'HMAC of the activated secret over the key binding matches (constant time)' : 'activated secret matches (constant time)',
  )
}
