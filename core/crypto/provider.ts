/**
 * The crypto port. core/ calls only this; the default is Web Crypto (core/crypto/webcrypto.ts),
 * runtimes/ inject faster providers (node:crypto KeyObjects on Node). Keys travel as parsed,
 * runtime-neutral material ({@link PublicKey}); a provider caches its imported form per object,
 * so a key parsed once (a cached intermediate, an anchor) is imported once.
 */

export type HashAlg = 'SHA-1' | 'SHA-256' | 'SHA-384' | 'SHA-512'
export type NamedCurve = 'P-256' | 'P-384' | 'P-521'

export interface RsaPublicKey {
  readonly kty: 'RSA'
  /** modulus, big-endian, no leading zero */
  readonly n: Uint8Array
  /** public exponent, big-endian, no leading zero */
  readonly e: Uint8Array
}

export interface EcPublicKey {
  readonly kty: 'EC'
  readonly crv: NamedCurve
  /** affine x, big-endian, left-padded to the field size */
  readonly x: Uint8Array
  /** affine y, big-endian, left-padded to the field size */
  readonly y: Uint8Array
}

export type PublicKey = RsaPublicKey | EcPublicKey

export type SignatureScheme =
  | { readonly name: 'RSASSA-PKCS1-v1_5'; readonly hash: HashAlg }
  /** saltLength in bytes; TPMs and X.509 (RFC 4055) say which */
  | { readonly name: 'RSA-PSS'; readonly hash: HashAlg; readonly saltLength: number }
  /** signature as IEEE P1363 r||s, each left-padded to the field size */
  | { readonly name: 'ECDSA'; readonly hash: HashAlg }

export interface EcdhResult {
  /** the ephemeral public key sent to the peer */
  readonly ephemeral: EcPublicKey
  /** the shared secret Z: the x-coordinate of d_e * Q_peer, field-size bytes */
  readonly z: Uint8Array
}

export interface CryptoProvider {
  /** shown by benchmarks and diagnostics, e.g. "webcrypto", "node:crypto" */
  readonly name: string
  digest(hash: HashAlg, data: Uint8Array): Promise<Uint8Array>
  hmac(hash: HashAlg, key: Uint8Array, data: Uint8Array): Promise<Uint8Array>
  /** false for a well-formed signature that does not verify; also false for a malformed one */
  verify(scheme: SignatureScheme, key: PublicKey, data: Uint8Array, signature: Uint8Array): Promise<boolean>
  /** RSAES-OAEP (RFC 8017 §7.1) with MGF1 over the same hash and the given label */
  rsaOaepEncrypt(key: RsaPublicKey, hash: HashAlg, label: Uint8Array, data: Uint8Array): Promise<Uint8Array>
  /** one-pass ECDH (ephemeral-static) against `peer` on its curve */
  ecdhEphemeral(peer: EcPublicKey): Promise<EcdhResult>
  /** AES-CFB128 encryption (full-block feedback), no padding; Web Crypto lacks it */
  aesCfbEncrypt(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Promise<Uint8Array>
  /** AES-GCM (NIST SP 800-38D), 12-byte IV, 16-byte tag appended: ciphertext || tag */
  aesGcmEncrypt(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, data: Uint8Array): Promise<Uint8Array>
  /** AES-GCM decryption of ciphertext || tag; undefined when the tag does not verify (never throws for that) */
  aesGcmDecrypt(key: Uint8Array, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Promise<Uint8Array | undefined>
  randomBytes(n: number): Uint8Array
  /**
   * Optional: signs `data` with a private key given as PKCS#8 DER (ECDSA: P1363 r||s, as `verify`
   * takes it). A provider imports the key once per bytes object; a server keeps the object. A
   * provider without it leaves signing to Web Crypto (server/ca falls back to a CryptoKey).
   */
  sign?(scheme: SignatureScheme, pkcs8: Uint8Array, data: Uint8Array): Promise<Uint8Array>
}
