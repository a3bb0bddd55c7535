import { toHex } from '../bytes/encoding.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import type { Certificate } from './certificate.ts'

/** SHA-1 of the whole certificate DER, lowercase hex (as `openssl x509 -fingerprint -sha1`, without colons). */
export async function fingerprintSha1(certDer: Uint8Array, platform: Platform = defaultPlatform()): Promise<string> {
  return toHex(await platform.crypto.digest('SHA-1', certDer))
}

/** SHA-256 of the whole certificate DER, lowercase hex. */
export async function fingerprintSha256(certDer: Uint8Array, platform: Platform = defaultPlatform()): Promise<string> {
  return toHex(await platform.crypto.digest('SHA-256', certDer))
}

/**
 * Hex digests of byte arrays that belong to a parsed, immutable object (a certificate's DER, an
 * issuer's SPKI), remembered per array: anchors and cached certificates are the same objects
 * attestation after attestation, and their digests are cache keys and selectors every time.
 */
const hexDigests: Record<'SHA-1' | 'SHA-256', WeakMap<Uint8Array, string>> = { 'SHA-1': new WeakMap(), 'SHA-256': new WeakMap() }

export async function parsedBytesDigestHex(hash: 'SHA-1' | 'SHA-256', bytes: Uint8Array, platform: Platform): Promise<string> {
  const memo = hexDigests[hash]
  let hex = memo.get(bytes)
  if (hex === undefined) {
    hex = toHex(await platform.crypto.digest(hash, bytes))
    memo.set(bytes, hex)
  }
  return hex
}

/** SHA-1 fingerprint of a parsed certificate, remembered per certificate. */
export function certificateFingerprintSha1(cert: Certificate, platform: Platform = defaultPlatform()): Promise<string> {
  return parsedBytesDigestHex('SHA-1', cert.raw, platform)
}
