import { toHex } from '../bytes/encoding.ts'
import { defaultPlatform, type Platform } from '../platform.ts'

/** SHA-1 of the whole certificate DER, lowercase hex (as `openssl x509 -fingerprint -sha1`, without colons). */
export async function fingerprintSha1(certDer: Uint8Array, platform: Platform = defaultPlatform()): Promise<string> {
  return toHex(await platform.crypto.digest('SHA-1', certDer))
}

/** SHA-256 of the whole certificate DER, lowercase hex. */
export async function fingerprintSha256(certDer: Uint8Array, platform: Platform = defaultPlatform()): Promise<string> {
  return toHex(await platform.crypto.digest('SHA-256', certDer))
}
