/**
 * The last server-side step of credential activation (TPM 2.0 Part 1 §24, protocol §4.2): the
 * agent returns what TPM2_ActivateCredential decrypted, and the server compares it with the secret
 * it put into MakeCredential. Only a TPM holding the EK private key, with an object of exactly the
 * AK Name loaded, can produce it.
 */
import { CredentialError } from '../errors.ts'
import { CREDENTIAL_SECRET_MISMATCH } from '../messages.ts'
import { defaultPlatform, type Platform } from '../platform.ts'

/**
 * Throws CredentialError ERR_CREDENTIAL_MISMATCH unless `presented` equals `expected`.
 *
 * Why constant time: `expected` is a live secret. An early-exit comparison returns sooner the
 * earlier the first differing byte is, so an attacker without the TPM who can retry against the
 * same challenge (or a server that reuses secrets) could learn the secret byte by byte from
 * response timing and answer the challenge without ever activating the credential.
 * `platform.kernels.timingSafeEqual` touches every byte whatever the content (OR of XORs, no
 * data-dependent branch). The length check comes first and may return early: lengths are public
 * (the secret size is fixed by the protocol, e.g. the EK nameAlg digest size) and a wrong length
 * reveals nothing about the contents. The message never includes either value.
 */
export function checkActivatedSecret(expected: Uint8Array, presented: Uint8Array, platform: Platform = defaultPlatform()): void {
  if (expected.length === 0) {
    // caller misuse: an empty secret would let an empty answer pass
    throw new RangeError('checkActivatedSecret: the expected secret is empty')
  }
  const same = presented.length === expected.length && platform.kernels.timingSafeEqual(expected, presented)
  if (!same) {
    throw new CredentialError('ERR_CREDENTIAL_MISMATCH', CREDENTIAL_SECRET_MISMATCH, {
      detail: { expectedLength: expected.length, presentedLength: presented.length },
    })
  }
}
