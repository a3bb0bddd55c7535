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
 * SHA-1 fingerprints of parsed certificates, remembered per Certificate (immutable once parsed):
 * CA certificates (anchors, cached intermediates) are the same objects attestation after
 * attestation, and their fingerprints are selectors every time.
 */
const sha1OfCertificate = new WeakMap<Certificate, string>()

export async function certificateFingerprintSha1(cert: Certificate, platform: Platform = defaultPlatform()): Promise<string> {
  let fp = sha1OfCertificate.get(cert)
  if (fp === undefined) {
    fp = await fingerprintSha1(cert.raw, platform)
    sha1OfCertificate.set(cert, fp)
  }
  return fp
}
