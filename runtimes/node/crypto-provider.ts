import {
  constants,
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  createPrivateKey,
  createPublicKey,
  getCiphers,
  publicEncrypt,
  randomFillSync,
  sign as nodeSign,
  verify as nodeVerify,
  type CipherGCMTypes,
  type KeyObject,
} from 'node:crypto'
import type { CryptoProvider, EcPublicKey, HashAlg, PublicKey } from '../../core/crypto/provider.ts'
import type { Kernels } from '../../core/kernels/types.ts'
import { cfbKeystreamInput, checkGcmSizes, publicKeyToJwk, xorKeystream } from '../../core/crypto/webcrypto.ts'
import { encodeBase64Buffer } from './base64.ts'

const NODE_HASH: Record<HashAlg, string> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' }
const NODE_CURVE = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' } as const
const FIELD_BYTES = { 'P-256': 32, 'P-384': 48, 'P-521': 66 } as const

/**
 * A CryptoProvider on node:crypto: synchronous one-shot operations (no Web Crypto await hop, no
 * threadpool round trip) with KeyObjects imported from JWK, which Node 20 imports ~30x faster
 * than SPKI DER (see docs/performance.md). Imported keys are cached per PublicKey object.
 * Works on Node and on Bun (whose node:crypto is BoringSSL).
 */
export interface NodeCryptoProviderOptions {
  /**
   * WASM kernels for short SHA-256 digests and HMAC-SHA256 (TPM Names, KDFa blocks, the outer
   * HMAC): below ~128 bytes a WASM call costs less than creating a node:crypto Hash or Hmac
   * object (docs/performance.md). Results are identical; omit to use node:crypto for everything.
   */
  readonly kernels?: Kernels
  /** largest input sent to a kernel; default 128 bytes */
  readonly kernelMaxBytes?: number
}

export function createNodeCryptoProvider(options: NodeCryptoProviderOptions = {}): CryptoProvider {
  const kernels = options.kernels?.kind === 'wasm' ? options.kernels : undefined
  const kernelMax = options.kernelMaxBytes ?? 128
  // Imported keys, by object (free) and by key bytes (the same AK, DevID or EK key arrives as a new
  // object in every attestation; an EC import costs ~110 µs on Node 20). Bounded, oldest out first.
  const keys = new WeakMap<PublicKey, KeyObject>()
  const byBytes = new Map<string, KeyObject>()
  const MAX_KEYS = 4096
  const keyObject = (key: PublicKey): KeyObject => {
    let k = keys.get(key)
    if (k) return k
    const id =
      key.kty === 'RSA'
        ? `R${encodeBase64Buffer(key.n)}.${encodeBase64Buffer(key.e)}`
        : `E${key.crv}${encodeBase64Buffer(key.x)}.${encodeBase64Buffer(key.y)}`
    k = byBytes.get(id)
    if (!k) {
      k = createPublicKey({ key: publicKeyToJwk(key) as never, format: 'jwk' })
      byBytes.set(id, k)
      if (byBytes.size > MAX_KEYS) byBytes.delete(byBytes.keys().next().value!)
    }
    keys.set(key, k)
    return k
  }

  const random = createRandomPool()
  // signing keys (the server CA's), imported once per PKCS#8 bytes object
  const privateKeys = new WeakMap<Uint8Array, KeyObject>()

  return {
    name: kernels ? 'node:crypto+wasm-kernels' : 'node:crypto',

    async digest(hash, data) {
      if (kernels && hash === 'SHA-256' && data.length <= kernelMax) return kernels.sha256(data)
      return createHash(NODE_HASH[hash]).update(data).digest()
    },

    async hmac(hash, key, data) {
      if (kernels && hash === 'SHA-256' && key.length + data.length <= kernelMax) return kernels.hmacSha256(key, data)
      return createHmac(NODE_HASH[hash], key).update(data).digest()
    },

    async verify(scheme, key, data, signature) {
      try {
        const k = keyObject(key)
        if (scheme.name === 'ECDSA') {
          return nodeVerify(NODE_HASH[scheme.hash], data, { key: k, dsaEncoding: 'ieee-p1363' }, signature)
        }
        if (scheme.name === 'RSA-PSS') {
          return nodeVerify(
            NODE_HASH[scheme.hash],
            data,
            { key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength },
            signature,
          )
        }
        // PKCS#1 v1.5 is an RSA key's default padding; naming it costs an OpenSSL ctrl call per verify (~3 µs on Node 20)
        return nodeVerify(NODE_HASH[scheme.hash], data, k, signature)
      } catch {
        return false
      }
    },

    async rsaOaepEncrypt(key, hash, label, data) {
      return publicEncrypt(
        { key: keyObject(key), padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: NODE_HASH[hash], oaepLabel: label },
        data,
      )
    },

    async ecdhEphemeral(peer: EcPublicKey) {
      const ecdh = createECDH(NODE_CURVE[peer.crv])
      const pub = ecdh.generateKeys()
      const n = FIELD_BYTES[peer.crv]
      const peerPoint = new Uint8Array(1 + 2 * n)
      peerPoint[0] = 4
      peerPoint.set(peer.x, 1 + n - peer.x.length)
      peerPoint.set(peer.y, 1 + 2 * n - peer.y.length)
      const z = ecdh.computeSecret(peerPoint)
      return {
        ephemeral: { kty: 'EC', crv: peer.crv, x: pub.subarray(1, 1 + n), y: pub.subarray(1 + n) },
        z,
      }
    },

    async aesCfbEncrypt(key, iv, data) {
      return aesCfb(key, iv, data)
    },

    async aesGcmEncrypt(key, iv, aad, data) {
      checkGcmSizes(key, iv)
      const c = createCipheriv(`aes-${key.length * 8}-gcm` as CipherGCMTypes, key, iv, { authTagLength: 16 }).setAAD(aad)
      return Buffer.concat([c.update(data), c.final(), c.getAuthTag()])
    },

    async aesGcmDecrypt(key, iv, aad, sealed) {
      checkGcmSizes(key, iv)
      if (sealed.length < 16) return undefined
      const d = createDecipheriv(`aes-${key.length * 8}-gcm` as CipherGCMTypes, key, iv, { authTagLength: 16 })
      d.setAAD(aad).setAuthTag(sealed.subarray(sealed.length - 16))
      try {
        return Buffer.concat([d.update(sealed.subarray(0, sealed.length - 16)), d.final()])
      } catch {
        return undefined
      }
    },

    randomBytes(n) {
      return random.take(n)
    },

    // synchronous one-shot node:crypto: no Web Crypto job, no threadpool round trip
    async sign(scheme, pkcs8, data) {
      let k = privateKeys.get(pkcs8)
      if (!k) {
        k = createPrivateKey({ key: Buffer.from(pkcs8.buffer, pkcs8.byteOffset, pkcs8.byteLength), format: 'der', type: 'pkcs8' })
        privateKeys.set(pkcs8, k)
      }
      const hash = NODE_HASH[scheme.hash]
      if (scheme.name === 'ECDSA') return nodeSign(hash, data, { key: k, dsaEncoding: 'ieee-p1363' })
      if (scheme.name === 'RSA-PSS')
        return nodeSign(hash, data, { key: k, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: scheme.saltLength })
      return nodeSign(hash, data, k)
    },
  }
}

/**
 * Randomness from a 4 KiB pool refilled by the OS CSPRNG (randomFillSync): one native call per
 * ~100 draws instead of one each (~5 µs apiece on Node 20; an attestation draws 3-4 times).
 * Every byte is handed out once and zeroed in the pool as it goes; draws are copies the caller owns.
 */
function createRandomPool(size = 4096): { take(n: number): Uint8Array } {
  const pool = new Uint8Array(size)
  let at = size
  return {
    take(n) {
      if (n > size) return new Uint8Array(randomFillSync(new Uint8Array(n)))
      if (at + n > size) {
        randomFillSync(pool)
        at = 0
      }
      const out = pool.slice(at, at + n)
      pool.fill(0, at, at + n)
      at += n
      return out
    },
  }
}

let ciphers: ReadonlySet<string> | undefined

/**
 * AES-CFB-128 encryption. Where node:crypto lists no CFB cipher for the key size (Deno has none,
 * Bun no aes-192-cfb) the keystream comes from one AES-CBC pass over [0, P1, ..., P(n-1)], whose
 * blocks are E(C(i-1)) exactly (the construction core/crypto/webcrypto.ts uses for Web Crypto).
 * The choice is made from getCiphers() before the call, not from an error's text.
 */
export function aesCfb(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  ciphers ??= new Set(getCiphers())
  const name = `aes-${key.length * 8}-cfb`
  if (!ciphers.has(name)) return aesCfbViaCbc(key, iv, data)
  const c = createCipheriv(name, key, iv)
  return Buffer.concat([c.update(data), c.final()])
}

export function aesCfbViaCbc(key: Uint8Array, iv: Uint8Array, data: Uint8Array): Uint8Array {
  if (data.length === 0) return new Uint8Array(0)
  const c = createCipheriv(`aes-${key.length * 8}-cbc`, key, iv).setAutoPadding(false)
  return xorKeystream(data, Buffer.concat([c.update(cfbKeystreamInput(data)), c.final()]))
}
