/**
 * Certificate signature verification (RFC 5280 §6.1.3 (a)(1)): the issuer key over the exact
 * tbsCertificate bytes, through the injected crypto port. ECDSA signatures arrive as DER
 * Ecdsa-Sig-Value and are converted to P1363 r||s for the port.
 */
import type { PublicKey, SignatureScheme } from '../crypto/provider.ts'
import { ecdsaDerToP1363 } from '../crypto/ecdsa-signature.ts'
import { VerifyError } from '../errors.ts'
import type { Platform } from '../platform.ts'
import type { Certificate } from './certificate.ts'
import { curveFieldSize } from './spki.ts'

export { parseSignatureAlgorithm, type SignatureAlgorithm } from './algorithm.ts'

/** True when `scheme` can be used with `key` (RSA schemes with RSA keys, ECDSA with EC keys). */
export function schemeMatchesKey(scheme: SignatureScheme, key: PublicKey): boolean {
  return scheme.name === 'ECDSA' ? key.kty === 'EC' : key.kty === 'RSA'
}

/**
 * Verifies a signature made with `scheme` (X.509 encoding: DER for ECDSA) over `data`.
 * False for a wrong key type, a malformed or a non-verifying signature.
 */
export async function verifyX509Signature(
  scheme: SignatureScheme,
  key: PublicKey,
  data: Uint8Array,
  signature: Uint8Array,
  platform: Platform,
): Promise<boolean> {
  if (!schemeMatchesKey(scheme, key)) return false
  let sig = signature
  if (scheme.name === 'ECDSA' && key.kty === 'EC') {
    try {
      sig = ecdsaDerToP1363(signature, curveFieldSize(key.crv))
    } catch (e) {
      if (e instanceof VerifyError) return false
      throw e
    }
  }
  return platform.crypto.verify(scheme, key, data, sig)
}

/** True when `issuerKey` verifies the signature of `cert` over its raw TBS bytes. */
export async function verifyCertificateSignature(cert: Certificate, issuerKey: PublicKey, platform: Platform): Promise<boolean> {
  return verifyX509Signature(cert.signatureAlgorithm.scheme, issuerKey, cert.tbsRaw, cert.signature, platform)
}
