// Test-only, independent of core/: the TPM side of credential activation (TPM 2.0 Part 1 §24,
// TPM2_ActivateCredential) and a deterministic RSA-OAEP encryptor, built on node:crypto and BigInt.
import type { CredentialEk } from '../../../core/credential/ek.ts'
import type { HashAlg, NamedCurve, PublicKey } from '../../../core/crypto/provider.ts'
import { fromHex } from '../../../core/bytes/encoding.ts'
import { createDecipheriv, createECDH, createHash, createHmac, privateDecrypt, constants, type KeyObject } from 'node:crypto'

const NODE_HASH = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' } as const
export type Hash = keyof typeof NODE_HASH
const DIGEST = { 'SHA-1': 20, 'SHA-256': 32, 'SHA-384': 48, 'SHA-512': 64 } as const
const CURVE = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' } as const

const u32 = (v: number) => Buffer.from([v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255])

/** KDFa written out independently with node:crypto HMAC (bits multiple of 8 only). */
export function refKdfa(hash: Hash, key: Uint8Array, label: string, u: Uint8Array, v: Uint8Array, bits: number): Buffer {
  const out: Buffer[] = []
  for (let i = 1; out.length * DIGEST[hash] < bits / 8; i++) {
    out.push(
      createHmac(NODE_HASH[hash], key)
        .update(Buffer.concat([u32(i), Buffer.from(label + '\0'), u, v, u32(bits)]))
        .digest(),
    )
  }
  return Buffer.concat(out).subarray(0, bits / 8)
}

/** KDFe written out independently with node:crypto hashes (bits multiple of 8 only). */
export function refKdfe(hash: Hash, z: Uint8Array, label: string, u: Uint8Array, v: Uint8Array, bits: number): Buffer {
  const out: Buffer[] = []
  for (let i = 1; out.length * DIGEST[hash] < bits / 8; i++) {
    out.push(
      createHash(NODE_HASH[hash])
        .update(Buffer.concat([u32(i), z, Buffer.from(label + '\0'), u, v]))
        .digest(),
    )
  }
  return Buffer.concat(out).subarray(0, bits / 8)
}

export type EkPrivate = { kind: 'RSA'; privateKey: KeyObject } | { kind: 'EC'; crv: keyof typeof CURVE; d: Buffer; x: Buffer }

/** Recovers the seed from TPMU_ENCRYPTED_SECRET the way the TPM does (B.10.4 / C.6.4). */
export function recoverSeed(ek: EkPrivate, hash: Hash, encSecret: Uint8Array): Buffer {
  if (ek.kind === 'RSA') {
    return privateDecrypt(
      { key: ek.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: NODE_HASH[hash], oaepLabel: Buffer.from('IDENTITY\0') },
      encSecret,
    )
  }
  const b = Buffer.from(encSecret)
  const xl = b.readUInt16BE(0)
  const qx = b.subarray(2, 2 + xl)
  const yl = b.readUInt16BE(2 + xl)
  const qy = b.subarray(4 + xl, 4 + xl + yl)
  if (4 + xl + yl !== b.length) throw new Error('TPMS_ECC_POINT has trailing bytes')
  const ecdh = createECDH(CURVE[ek.crv])
  ecdh.setPrivateKey(ek.d)
  const z = ecdh.computeSecret(Buffer.concat([Buffer.from([4]), qx, qy]))
  return refKdfe(hash, z, 'IDENTITY', qx, ek.x, DIGEST[hash] * 8)
}

/**
 * TPM2_ActivateCredential in software: checks the outer HMAC over encIdentity || akName
 * (TPM_RC_INTEGRITY on mismatch) and returns the decrypted TPM2B_DIGEST contents.
 */
export function softActivate(
  ek: EkPrivate,
  hash: Hash,
  symBits: number,
  akName: Uint8Array,
  idObject: Uint8Array,
  encSecret: Uint8Array,
): Buffer {
  const seed = recoverSeed(ek, hash, encSecret)
  const id = Buffer.from(idObject)
  const hl = id.readUInt16BE(0)
  const outerHmac = id.subarray(2, 2 + hl)
  const encIdentity = id.subarray(2 + hl)
  const hmacKey = refKdfa(hash, seed, 'INTEGRITY', Buffer.alloc(0), Buffer.alloc(0), DIGEST[hash] * 8)
  const want = createHmac(NODE_HASH[hash], hmacKey).update(encIdentity).update(akName).digest()
  if (!want.equals(outerHmac)) throw new Error('TPM_RC_INTEGRITY')
  const symKey = refKdfa(hash, seed, 'STORAGE', akName, Buffer.alloc(0), symBits)
  const d = createDecipheriv(`aes-${symBits}-cfb`, symKey, Buffer.alloc(16))
  const cv = Buffer.concat([d.update(encIdentity), d.final()])
  const n = cv.readUInt16BE(0)
  if (2 + n !== cv.length) throw new Error('TPM_RC_SIZE')
  return cv.subarray(2)
}

function mgf1(hash: Hash, seed: Buffer, len: number): Buffer {
  const out: Buffer[] = []
  for (let i = 0; out.length * DIGEST[hash] < len; i++) out.push(createHash(NODE_HASH[hash]).update(seed).update(u32(i)).digest())
  return Buffer.concat(out).subarray(0, len)
}

function modPow(b: bigint, e: bigint, m: bigint): bigint {
  let r = 1n
  b %= m
  for (; e > 0n; e >>= 1n, b = (b * b) % m) if (e & 1n) r = (r * b) % m
  return r
}

const big = (b: Uint8Array) => BigInt('0x' + (Buffer.from(b).toString('hex') || '0'))

/** RSAES-OAEP-ENCRYPT (RFC 8017 §7.1.1) with a caller-chosen OAEP seed: deterministic, for vectors. */
export function oaepEncryptWithSeed(
  n: Uint8Array,
  e: Uint8Array,
  hash: Hash,
  label: Uint8Array,
  msg: Uint8Array,
  oaepSeed: Uint8Array,
): Buffer {
  const k =
    Buffer.from(n)
      .toString('hex')
      .replace(/^(00)+/, '').length / 2
  const hLen = DIGEST[hash]
  if (oaepSeed.length !== hLen) throw new Error('oaep seed must be hLen bytes')
  const db = Buffer.concat([
    createHash(NODE_HASH[hash]).update(label).digest(),
    Buffer.alloc(k - msg.length - 2 * hLen - 2),
    Buffer.from([1]),
    msg,
  ])
  const dbMask = mgf1(hash, Buffer.from(oaepSeed), k - hLen - 1)
  const maskedDb = Buffer.from(db.map((x, i) => x ^ dbMask[i]!))
  const seedMask = mgf1(hash, maskedDb, hLen)
  const maskedSeed = Buffer.from(Buffer.from(oaepSeed).map((x, i) => x ^ seedMask[i]!))
  const em = Buffer.concat([Buffer.from([0]), maskedSeed, maskedDb])
  const c = modPow(big(em), big(e), big(n))
    .toString(16)
    .padStart(2 * k, '0')
  return Buffer.from(c, 'hex')
}

const HASH: Record<number, HashAlg> = { 0x04: 'SHA-1', 0x0b: 'SHA-256', 0x0c: 'SHA-384', 0x0d: 'SHA-512' }
const CURVE_ID: Record<number, NamedCurve> = { 3: 'P-256', 4: 'P-384', 5: 'P-521' }

// TPMT_PUBLIC fields of the labeled-encapsulation vectors, read just far enough (test-side).
export function ekFromTpmtPublicHex(hex: string): { ek: CredentialEk; restricted: boolean } {
  const b = Buffer.from(hex, 'hex')
  let o = 0
  const u16 = () => ((o += 2), b.readUInt16BE(o - 2))
  const u32 = () => ((o += 4), b.readUInt32BE(o - 4))
  const sized = () => {
    const n = u16()
    return ((o += n), b.subarray(o - n, o))
  }
  const type = u16()
  const nameAlg = HASH[u16()]!
  const attrs = u32()
  sized()
  const symAlg = u16()
  const symBits = symAlg === 0x10 ? 0 : (u16(), u16(), b.readUInt16BE(o - 4))
  if (u16() !== 0x10) u16() // scheme
  let publicKey: PublicKey
  if (type === 0x0001) {
    u16() // keyBits
    const exp = u32() || 65537
    publicKey = { kty: 'RSA', n: sized(), e: fromHex(exp.toString(16).padStart(6, '0')) }
  } else {
    const crv = CURVE_ID[u16()]!
    if (u16() !== 0x10) u16() // kdf
    publicKey = { kty: 'EC', crv, x: sized(), y: sized() }
  }
  if (o !== b.length) throw new Error('trailing bytes in vector TPMT_PUBLIC')
  return { ek: { publicKey, nameAlg, symmetricKeyBits: symBits as 128 }, restricted: (attrs & (1 << 16)) !== 0 }
}
