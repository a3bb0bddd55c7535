import type { CryptoProvider, EcdhResult, EcPublicKey, HashAlg, PublicKey, RsaPublicKey, SignatureScheme } from './provider.ts'
import { toBase64Url, fromBase64Url } from '../bytes/encoding.ts'
import type { Kernels } from '../kernels/types.ts'

type Buf = Uint8Array<ArrayBuffer>
/** Web Crypto wants ArrayBuffer-backed views; copy only when a view is over a SharedArrayBuffer or similar. */
const buf = (b: Uint8Array): Buf => (b.buffer instanceof ArrayBuffer ? (b as Buf) : new Uint8Array(b))

/** @internal */
export function publicKeyToJwk(key: PublicKey): JsonWebKey {
  return key.kty === 'RSA'
    ? { kty: 'RSA', n: toBase64Url(key.n), e: toBase64Url(key.e), ext: true }
    : { kty: 'EC', crv: key.crv, x: toBase64Url(key.x), y: toBase64Url(key.y), ext: true }
}

/**
 * AES-CFB128 encryption (NIST SP 800-38A §6.3) with ONE AES-CBC call; Web Crypto has no CFB.
 *
 * CFB: C_i = P_i ^ E_K(C_{i-1}) with C_0 = IV. CBC under the same IV over X_1..X_n gives
 * B_i = E_K(X_i ^ B_{i-1}), B_0 = IV. Choosing X_1 = 0 and X_i = P_{i-1} makes
 * B_1 = E_K(IV) and B_i = E_K(P_{i-1} ^ B_{i-1}) = E_K(C_{i-1}): the CBC output blocks ARE the CFB
 * keystream, and every X_i is known up front because P_{i-1} is plaintext. So: CBC-encrypt
 * 0^16 || P_1 .. P_{n-1} (full blocks; P_n may be partial and is never fed back), XOR the first
 * data.length bytes with the data. CBC's PKCS#7 padding block is ignored.
 * Only encryption works this way: decryption needs C_{i-1} before E_K(C_{i-1}), one call per block.
 */
/** @internal */
export async function aesCfbEncryptViaCbc(subtle: SubtleCrypto, key: Uint8Array, iv: Uint8Array, data: Uint8Array): Promise<Uint8Array> {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new RangeError(`aes-cfb: key must be 16, 24 or 32 bytes, got ${key.length}`)
  }
  if (iv.length !== 16) throw new RangeError(`aes-cfb: iv must be 16 bytes, got ${iv.length}`)
  if (data.length === 0) return new Uint8Array(0)
  const ck = await subtle.importKey('raw', buf(key), { name: 'AES-CBC' }, false, ['encrypt'])
  return xorKeystream(data, new Uint8Array(await subtle.encrypt({ name: 'AES-CBC', iv: buf(iv) }, ck, cfbKeystreamInput(data))))
}

/** AES-GCM as the port uses it: a 128/192/256-bit key and a 96-bit IV. */
export function checkGcmSizes(key: Uint8Array, iv: Uint8Array): void {
  if (key.length !== 16 && key.length !== 24 && key.length !== 32) {
    throw new RangeError(`aes-gcm: key must be 16, 24 or 32 bytes, got ${key.length}`)
  }
  if (iv.length !== 12) throw new RangeError(`aes-gcm: iv must be 12 bytes, got ${iv.length}`)
}

/** The CBC input 0^16 || P_1 .. P_{n-1} whose output blocks are the CFB keystream of `data` (above). */
export function cfbKeystreamInput(data: Uint8Array): Uint8Array<ArrayBuffer> {
  const blocks = Math.ceil(data.length / 16)
  const input = new Uint8Array(blocks * 16)
  input.set(data.subarray(0, (blocks - 1) * 16), 16)
  return input
}

/** `data` XOR the first data.length bytes of `stream`. */
export function xorKeystream(data: Uint8Array, stream: Uint8Array): Uint8Array {
  const out = new Uint8Array(data.length)
  for (let i = 0; i < data.length; i++) out[i] = data[i]! ^ stream[i]!
  return out
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
export interface WebCryptoProviderOptions {
  /**
   * Synchronous hash kernels (JS twin or WASM) for small inputs: SHA-256 and SHA-1 digests and
   * HMAC-SHA256 up to `kernelMaxBytes` skip the Web Crypto await, which costs 50-400 µs of latency
   * per call (docs/performance.md). Results are identical; omit to use Web Crypto for everything.
   */
  readonly kernels?: Kernels
  /** largest input sent to a kernel; default 4096 bytes (names, PCR digests, fingerprints, KDFa) */
  readonly kernelMaxBytes?: number
}

/**
 * The parts of a Web Crypto `Crypto` object the provider uses (`globalThis.crypto` on every runtime,
 * or another implementation), typed structurally so that vouch's declarations need no DOM library.
 */
export interface WebCrypto {
  readonly subtle: object
  // non-generic, so that every runtime's Crypto fits (DOM's, Node's and Deno's constraints differ)
  getRandomValues(array: Uint8Array<ArrayBuffer>): unknown
}

export function createWebCryptoProvider(webCrypto: WebCrypto = globalThis.crypto, options: WebCryptoProviderOptions = {}): CryptoProvider {
  const crypto = webCrypto as Crypto
  const subtle = crypto.subtle
  const kernels = options.kernels
  const small = (n: number) => kernels !== undefined && n <= (options.kernelMaxBytes ?? 4096)
  const keyCache = new WeakMap<PublicKey, Map<string, Promise<CryptoKey>>>()

  function importKey(
    key: PublicKey,
    usage: 'verify' | 'encrypt',
    params: AlgorithmIdentifier & Record<string, unknown>,
  ): Promise<CryptoKey> {
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
    name: kernels ? `webcrypto+${kernels.kind}-kernels` : 'webcrypto',

    async digest(hash, data) {
      if (small(data.length)) {
        if (hash === 'SHA-256') return kernels!.sha256(data)
        if (hash === 'SHA-1') return kernels!.sha1(data)
      }
      return new Uint8Array(await subtle.digest(hash, buf(data)))
    },

    async hmac(hash, key, data) {
      if (hash === 'SHA-256' && small(key.length + data.length)) return kernels!.hmacSha256(key, data)
      // HMAC keys of length 0 are legal in TPM KDFs but refused by Web Crypto; pad per RFC 2104
      // (a key shorter than the block size is zero-padded, so a single 0 byte is equivalent).
      const k = key.length === 0 ? new Uint8Array(1) : key
      const ck = await subtle.importKey('raw', buf(k), { name: 'HMAC', hash }, false, ['sign'])
      return new Uint8Array(await subtle.sign('HMAC', ck, buf(data)))
    },

    async verify(scheme, key, data, signature) {
      const params =
        scheme.name === 'RSA-PSS'
          ? { name: 'RSA-PSS', saltLength: scheme.saltLength }
          : scheme.name === 'ECDSA'
            ? { name: 'ECDSA', hash: scheme.hash }
            : { name: 'RSASSA-PKCS1-v1_5' }
      try {
        // an invalid key (e.g. an EC point off its curve) is a failed verification, not an exception
        const ck = await importKey(key, 'verify', importParams(scheme, key, scheme.hash) as never)
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
      return aesCfbEncryptViaCbc(subtle, key, iv, data)
    },

    async aesGcmEncrypt(key, iv, aad, data) {
      checkGcmSizes(key, iv)
      const k = await subtle.importKey('raw', buf(key), { name: 'AES-GCM' }, false, ['encrypt'])
      return new Uint8Array(await subtle.encrypt({ name: 'AES-GCM', iv: buf(iv), additionalData: buf(aad), tagLength: 128 }, k, buf(data)))
    },

    async aesGcmDecrypt(key, iv, aad, sealed) {
      checkGcmSizes(key, iv)
      if (sealed.length < 16) return undefined
      const k = await subtle.importKey('raw', buf(key), { name: 'AES-GCM' }, false, ['decrypt'])
      try {
        return new Uint8Array(
          await subtle.decrypt({ name: 'AES-GCM', iv: buf(iv), additionalData: buf(aad), tagLength: 128 }, k, buf(sealed)),
        )
      } catch {
        return undefined
      }
    },

    randomBytes(n) {
      const out = new Uint8Array(n)
      for (let off = 0; off < n; off += 65536) crypto.getRandomValues(out.subarray(off, Math.min(n, off + 65536)))
      return out
    },
  }
}
