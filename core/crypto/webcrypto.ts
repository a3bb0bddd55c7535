import type {
  CryptoProvider,
  EcdhResult,
  EcPublicKey,
  HashAlg,
  PublicKey,
  RsaPublicKey,
  SignatureScheme,
} from './provider.ts'
import { toBase64Url, fromBase64Url } from '../bytes/encoding.ts'

type Buf = Uint8Array<ArrayBuffer>
/** Web Crypto wants ArrayBuffer-backed views; copy only when a view is over a SharedArrayBuffer or similar. */
const buf = (b: Uint8Array): Buf => (b.buffer instanceof ArrayBuffer ? (b as Buf) : new Uint8Array(b))

export function publicKeyToJwk(key: PublicKey): JsonWebKey {
  return key.kty === 'RSA'
    ? { kty: 'RSA', n: toBase64Url(key.n), e: toBase64Url(key.e), ext: true }
    : { kty: 'EC', crv: key.crv, x: toBase64Url(key.x), y: toBase64Url(key.y), ext: true }
}

function importParams(scheme: SignatureScheme | 'RSA-OAEP', key: PublicKey, hash: HashAlg) {
  if (scheme === 'RSA-OAEP') return { name: 'RSA-OAEP', hash }
  if (scheme.name === 'ECDSA') return { name: 'ECDSA', namedCurve: (key as EcPublicKey).crv }
  return { name: scheme.name, hash }
}

/**
 * The default provider: Web Crypto only (every runtime, edge functions included). Imported
 * CryptoKeys are cached per key object and per usage, so repeated checks with one parsed key
 * import it once. Keys are imported from JWK, which is far cheaper than SPKI on Node 20.
 */
export function createWebCryptoProvider(crypto: Crypto = globalThis.crypto): CryptoProvider {
  const subtle = crypto.subtle
  const keyCache = new WeakMap<PublicKey, Map<string, Promise<CryptoKey>>>()

  function importKey(key: PublicKey, usage: 'verify' | 'encrypt', params: AlgorithmIdentifier & Record<string, unknown>): Promise<CryptoKey> {
    const id = `${usage}:${JSON.stringify(params)}`
    let perKey = keyCache.get(key)
    if (!perKey) keyCache.set(key, (perKey = new Map()))
    let p = perKey.get(id)
    if (!p) {
      p = subtle.importKey('jwk', publicKeyToJwk(key), params, false, [usage])
      // never cache a failed import (a malformed key must fail every time, not poison the cache)
      p.catch(() => perKey!.delete(id))
      perKey.set(id, p)
    }
    return p
  }

  return {
    name: 'webcrypto',

    async digest(hash, data) {
      return new Uint8Array(await subtle.digest(hash, buf(data)))
    },

    async hmac(hash, key, data) {
      // HMAC keys of length 0 are legal in TPM KDFs but refused by Web Crypto; pad per RFC 2104
      // (a key shorter than the block size is zero-padded, so a single 0 byte is equivalent).
      const k = key.length === 0 ? new Uint8Array(1) : key
      const ck = await subtle.importKey('raw', buf(k), { name: 'HMAC', hash }, false, ['sign'])
      return new Uint8Array(await subtle.sign('HMAC', ck, buf(data)))
    },

    async verify(scheme, key, data, signature) {
      const ck = await importKey(key, 'verify', importParams(scheme, key, scheme.hash) as never)
      const params =
        scheme.name === 'RSA-PSS'
          ? { name: 'RSA-PSS', saltLength: scheme.saltLength }
          : scheme.name === 'ECDSA'
            ? { name: 'ECDSA', hash: scheme.hash }
            : { name: 'RSASSA-PKCS1-v1_5' }
      try {
        return await subtle.verify(params, ck, buf(signature), buf(data))
      } catch {
        return false
      }
    },

    async rsaOaepEncrypt(key: RsaPublicKey, hash, label, data) {
      const ck = await importKey(key, 'encrypt', importParams('RSA-OAEP', key, hash) as never)
      return new Uint8Array(await subtle.encrypt({ name: 'RSA-OAEP', label: buf(label) }, ck, buf(data)))
    },

    async ecdhEphemeral(peer: EcPublicKey): Promise<EcdhResult> {
      const pair = (await subtle.generateKey({ name: 'ECDH', namedCurve: peer.crv }, true, ['deriveBits'])) as CryptoKeyPair
      const peerKey = await subtle.importKey('jwk', publicKeyToJwk(peer), { name: 'ECDH', namedCurve: peer.crv }, false, [])
      const bits = { 'P-256': 256, 'P-384': 384, 'P-521': 528 }[peer.crv]
      const z = new Uint8Array(await subtle.deriveBits({ name: 'ECDH', public: peerKey }, pair.privateKey, bits))
      const jwk = await subtle.exportKey('jwk', pair.publicKey)
      return {
        ephemeral: { kty: 'EC', crv: peer.crv, x: fromBase64Url(jwk.x!), y: fromBase64Url(jwk.y!) },
        z,
      }
    },

    async aesCfbEncrypt(key, iv, data) {
      // Web Crypto has no AES-CFB (nor ECB). The CFB keystream block E_K(X) is the first block of
      // AES-CBC(K, iv = 0, X); X is the IV, then each previous ciphertext block.
      const ck = await subtle.importKey('raw', buf(key), { name: 'AES-CBC' }, false, ['encrypt'])
      const out = new Uint8Array(data.length)
      let feedback = new Uint8Array(iv)
      const zero = new Uint8Array(16)
      for (let off = 0; off < data.length; off += 16) {
        const block = new Uint8Array(await subtle.encrypt({ name: 'AES-CBC', iv: zero }, ck, feedback)).subarray(0, 16)
        const n = Math.min(16, data.length - off)
        for (let i = 0; i < n; i++) out[off + i] = data[off + i]! ^ block[i]!
        feedback = new Uint8Array(16)
        feedback.set(out.subarray(off, off + n))
      }
      return out
    },

    randomBytes(n) {
      const out = new Uint8Array(n)
      for (let off = 0; off < n; off += 65536) crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)))
      return out
    },
  }
}
