/**
 * The EK public hash: lowercase hex SHA-256 of the EK's DER SubjectPublicKeyInfo, the value
 * SPIRE's tpm plugin uses as agent identity and in hash allow-lists; equal to
 * `openssl x509 -pubkey -noout -in EK.pem | openssl pkey -pubin -outform DER | sha256sum`.
 */
import { toHex } from '../bytes/encoding.ts'
import type { PublicKey } from '../crypto/provider.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import { encodeSubjectPublicKeyInfo, parseSubjectPublicKeyInfo } from '../x509/spki.ts'

/**
 * SHA-256 of `spkiDer` (checked to parse as a supported key first), lowercase hex. A strict DER
 * SPKI is byte-identical to OpenSSL's re-encoding, so this is OpenSSL's value.
 */
export async function ekPublicHash(spkiDer: Uint8Array, platform: Platform = defaultPlatform()): Promise<string> {
  parseSubjectPublicKeyInfo(spkiDer)
  return toHex(await platform.crypto.digest('SHA-256', spkiDer))
}

// by key object: a parsed key is immutable (a cached TPM key keeps its PublicKey object)
const hashOfKey = new WeakMap<PublicKey, string>()

/** The EK public hash of a parsed key (e.g. from a TPMT_PUBLIC). */
export async function ekPublicHashOfKey(key: PublicKey, platform: Platform = defaultPlatform()): Promise<string> {
  let hash = hashOfKey.get(key)
  if (hash === undefined) {
    hash = toHex(await platform.crypto.digest('SHA-256', encodeSubjectPublicKeyInfo(key)))
    hashOfKey.set(key, hash)
  }
  return hash
}
