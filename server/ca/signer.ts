/**
 * The server CA's certificate signer. Where the platform's crypto provider signs (`sign`, node:crypto
 * on Node and Bun), certificates are signed there from the key's PKCS#8 bytes: a synchronous
 * one-shot call, where a Web Crypto `subtle.sign` is a job on the threadpool and an await on its
 * completion (profiled on the answer path: docs/performance.md). Elsewhere, the imported CryptoKey
 * through Web Crypto as before. Either way the same algorithm and the same DER signature.
 */
import { ecdsaP1363ToDer } from '../../core/crypto/ecdsa-signature.ts'
import type { HashAlg, SignatureScheme } from '../../core/crypto/provider.ts'
import { OID } from '../../core/der/oid.ts'
import type { Platform } from '../../core/platform.ts'
import { DER_NULL, encodeOidTlv, encodeSequence } from '../../core/x509/der-encode.ts'
import type { CertificateSigner } from '../../core/x509/make-certificate.ts'

const CURVE_HASH: Record<string, Exclude<HashAlg, 'SHA-1'>> = { 'P-256': 'SHA-256', 'P-384': 'SHA-384', 'P-521': 'SHA-512' }
const ECDSA_OID: Record<string, string> = { 'SHA-256': OID.ecdsaWithSHA256, 'SHA-384': OID.ecdsaWithSHA384, 'SHA-512': OID.ecdsaWithSHA512 }

/**
 * The signer for the CA key (`key` imported from `pkcs8`), or undefined when the provider cannot
 * sign (makeCertificate then signs with the CryptoKey). RSA keys sign PKCS#1 v1.5 with SHA-256, as
 * the CryptoKey is imported; ECDSA with the curve's hash.
 */
export function providerSigner(key: CryptoKey, pkcs8: Uint8Array, platform: Platform): CertificateSigner | undefined {
  const sign = platform.crypto.sign?.bind(platform.crypto)
  if (!sign) return undefined
  const alg = key.algorithm as { name: string; namedCurve?: string }
  if (alg.name === 'ECDSA') {
    const hash = CURVE_HASH[alg.namedCurve ?? '']
    if (!hash) return undefined
    const scheme: SignatureScheme = { name: 'ECDSA', hash }
    return {
      algorithmIdentifier: encodeSequence(encodeOidTlv(ECDSA_OID[hash]!)),
      sign: async (tbs) => ecdsaP1363ToDer(await sign(scheme, pkcs8, tbs)),
    }
  }
  if (alg.name === 'RSASSA-PKCS1-v1_5') {
    const scheme: SignatureScheme = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
    return {
      algorithmIdentifier: encodeSequence(encodeOidTlv(OID.sha256WithRSAEncryption), DER_NULL),
      sign: (tbs) => sign(scheme, pkcs8, tbs),
    }
  }
  return undefined
}
