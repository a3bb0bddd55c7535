import {
  createCipheriv,
  createDecipheriv,
  createECDH,
  createHash,
  createHmac,
  generateKeyPairSync,
  privateDecrypt,
  randomBytes,
  sign,
  constants,
} from 'node:crypto'
import { Crypto as PeculiarCrypto } from '@peculiar/webcrypto'
import { describe, expect, it } from 'vitest'
import type { CryptoProvider, EcPublicKey, PublicKey, RsaPublicKey } from '../../../core/crypto/provider.ts'
import { createWebCryptoProvider } from '../../../core/crypto/webcrypto.ts'
import { fromBase64Url } from '../../../core/bytes/encoding.ts'
import { aesCfbViaCbc, createNodeCryptoProvider } from '../../../runtimes/node/crypto-provider.ts'
import { jsKernels } from '../../../core/kernels/js.ts'
import { loadWasmKernels } from '../../../wasm/load.ts'

// Every provider must behave identically: node:crypto (runtimes/node), the platform's Web Crypto
// (core default) and @peculiar/webcrypto (an independent Web Crypto implementation on top of
// node:crypto) as a cross-check of the port itself. Oracles are plain node:crypto calls.
const providers: [string, CryptoProvider][] = [
  ['node:crypto', createNodeCryptoProvider()],
  ['webcrypto', createWebCryptoProvider(globalThis.crypto)],
  ['webcrypto + JS kernels', createWebCryptoProvider(globalThis.crypto, { kernels: jsKernels })],
  ['webcrypto + WASM kernels', createWebCryptoProvider(globalThis.crypto, { kernels: await loadWasmKernels() })],
  ['@peculiar/webcrypto', createWebCryptoProvider(new PeculiarCrypto() as unknown as Crypto)],
]

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const rsaJwk = rsa.publicKey.export({ format: 'jwk' })
const rsaPub: RsaPublicKey = { kty: 'RSA', n: fromBase64Url(rsaJwk.n!), e: fromBase64Url(rsaJwk.e!) }
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const ecJwk = ec.publicKey.export({ format: 'jwk' })
const ecPub: EcPublicKey = { kty: 'EC', crv: 'P-256', x: fromBase64Url(ecJwk.x!), y: fromBase64Url(ecJwk.y!) }
const msg = new TextEncoder().encode('vouch provider parity')

describe.each(providers)('%s provider', (_name, p) => {
  it('digests and HMACs like node:crypto (including an empty HMAC key)', async () => {
    expect(Buffer.from(await p.digest('SHA-256', msg))).toEqual(createHash('sha256').update(msg).digest())
    expect(Buffer.from(await p.digest('SHA-1', msg))).toEqual(createHash('sha1').update(msg).digest())
    expect(Buffer.from(await p.hmac('SHA-256', new Uint8Array([1, 2, 3]), msg))).toEqual(
      createHmac('sha256', Buffer.from([1, 2, 3]))
        .update(msg)
        .digest(),
    )
    expect(Buffer.from(await p.hmac('SHA-256', new Uint8Array(0), msg))).toEqual(createHmac('sha256', Buffer.alloc(0)).update(msg).digest())
    // below and above the kernel size limit (4096 bytes), and HMAC keys longer than a block
    for (const n of [0, 63, 64, 4096, 5000]) {
      const d = new Uint8Array(n).map((_, i) => i & 255)
      expect(Buffer.from(await p.digest('SHA-256', d))).toEqual(createHash('sha256').update(d).digest())
      expect(Buffer.from(await p.digest('SHA-1', d))).toEqual(createHash('sha1').update(d).digest())
      expect(Buffer.from(await p.hmac('SHA-256', d.subarray(0, 100), d))).toEqual(
        createHmac('sha256', d.subarray(0, 100)).update(d).digest(),
      )
    }
  })

  it('verifies RSASSA, RSA-PSS and ECDSA signatures and rejects a flipped bit', async () => {
    const cases: [Parameters<CryptoProvider['verify']>[0], PublicKey, Uint8Array][] = [
      [{ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, rsaPub, sign('sha256', msg, rsa.privateKey)],
      [
        { name: 'RSA-PSS', hash: 'SHA-256', saltLength: 32 },
        rsaPub,
        sign('sha256', msg, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }),
      ],
      [{ name: 'ECDSA', hash: 'SHA-256' }, ecPub, sign('sha256', msg, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' })],
    ]
    for (const [scheme, key, sig] of cases) {
      expect(await p.verify(scheme, key, msg, sig)).toBe(true)
      const bad = new Uint8Array(sig)
      bad[5]! ^= 1
      expect(await p.verify(scheme, key, msg, bad)).toBe(false)
      // a short signature (the last byte dropped; dropping a leading 00 would be the same integer to RSA)
      expect(await p.verify(scheme, key, msg, sig.subarray(0, sig.length - 1))).toBe(false)
    }
  })

  it('a key that cannot be imported (EC point off its curve) fails verification instead of throwing', async () => {
    const offCurve: EcPublicKey = { ...ecPub, y: Uint8Array.from(ecPub.y, (b, i) => (i === 31 ? b ^ 1 : b)) }
    const sig = sign('sha256', msg, { key: ec.privateKey, dsaEncoding: 'ieee-p1363' })
    expect(await p.verify({ name: 'ECDSA', hash: 'SHA-256' }, offCurve, msg, sig)).toBe(false)
  })

  it('RSA-OAEP with a label decrypts with node:crypto', async () => {
    const label = new TextEncoder().encode('IDENTITY\0')
    const ct = await p.rsaOaepEncrypt(rsaPub, 'SHA-256', label, new Uint8Array(16).fill(7))
    const pt = privateDecrypt({ key: rsa.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label }, ct)
    expect([...pt]).toEqual(new Array(16).fill(7))
  })

  it('ECDH: Z equals what the peer derives from the ephemeral point', async () => {
    const peer = createECDH('prime256v1')
    peer.generateKeys()
    const pub = peer.getPublicKey()
    const peerKey: EcPublicKey = { kty: 'EC', crv: 'P-256', x: pub.subarray(1, 33), y: pub.subarray(33) }
    const { ephemeral, z } = await p.ecdhEphemeral(peerKey)
    const point = Buffer.concat([Buffer.from([4]), ephemeral.x, ephemeral.y])
    expect(Buffer.from(z)).toEqual(peer.computeSecret(point))
  })

  it('AES-128-CFB equals OpenSSL for partial and multi-block lengths', async () => {
    const key = new Uint8Array(16).map((_, i) => i)
    const iv = new Uint8Array(16)
    for (const n of [0, 1, 16, 34, 50]) {
      const pt = new Uint8Array(n).map((_, i) => i * 7)
      const ct = await p.aesCfbEncrypt(key, iv, pt)
      const c = createCipheriv('aes-128-cfb', key, iv)
      expect(Buffer.from(ct)).toEqual(Buffer.concat([c.update(pt), c.final()]))
      const d = createDecipheriv('aes-128-cfb', key, iv)
      expect(Buffer.concat([d.update(ct), d.final()])).toEqual(Buffer.from(pt))
    }
  })

  it('AES-256-GCM equals OpenSSL (ciphertext || tag) and opens only the unaltered message', async () => {
    const key = new Uint8Array(32).map((_, i) => i)
    const iv = new Uint8Array(12).fill(9)
    const aad = new Uint8Array([1, 2, 3])
    for (const n of [0, 1, 16, 50]) {
      const pt = new Uint8Array(n).map((_, i) => i * 7)
      const sealed = await p.aesGcmEncrypt(key, iv, aad, pt)
      const c = createCipheriv('aes-256-gcm', key, iv).setAAD(aad)
      expect(Buffer.from(sealed)).toEqual(Buffer.concat([c.update(pt), c.final(), c.getAuthTag()]))
      expect(Buffer.from((await p.aesGcmDecrypt(key, iv, aad, sealed))!)).toEqual(Buffer.from(pt))
      const bent = sealed.slice()
      bent[bent.length - 1]! ^= 1
      expect(await p.aesGcmDecrypt(key, iv, aad, bent)).toBeUndefined()
    }
  })

  it('randomBytes gives fresh bytes of the asked length', () => {
    const a = p.randomBytes(32)
    expect(a.length).toBe(32)
    expect(Buffer.from(a).equals(Buffer.from(p.randomBytes(32)))).toBe(false)
  })

  it('randomBytes from its pool: no draw repeats across refills, sizes above the pool work, draws are owned copies', () => {
    const q = createNodeCryptoProvider()
    const seen = new Set<string>()
    for (let i = 0; i < 600; i++) {
      const r = q.randomBytes(24 + (i % 3) * 8) // 24, 32, 40 bytes: refills land mid-draw
      expect(Object.getPrototypeOf(r)).toBe(Uint8Array.prototype)
      const hex = Buffer.from(r).toString('hex')
      expect(seen.has(hex)).toBe(false)
      seen.add(hex)
      r.fill(0) // the caller owns it: zeroing a draw must not touch later ones
    }
    const big = q.randomBytes(10_000)
    expect(big.length).toBe(10_000)
    expect(big.some((b) => b !== 0)).toBe(true)
    // bytes are uniform enough that 600 draws of >= 24 bytes hold every byte value
    const counts = new Set([...seen].flatMap((h) => [...Buffer.from(h, 'hex')]))
    expect(counts.size).toBe(256)
  })
})

describe('node:crypto provider with WASM kernels', () => {
  it('short SHA-256 digests and HMACs through the kernels equal node:crypto, on both sides of the threshold', async () => {
    const kernels = await loadWasmKernels()
    const withKernels = createNodeCryptoProvider({ kernels, kernelMaxBytes: 128 })
    expect(withKernels.name).toBe('node:crypto+wasm-kernels')
    const plain = createNodeCryptoProvider()
    for (let n = 0; n <= 200; n += 7) {
      const data = randomBytes(n)
      const key = randomBytes(n % 70)
      expect(new Uint8Array(await withKernels.digest('SHA-256', data))).toEqual(new Uint8Array(createHash('sha256').update(data).digest()))
      expect(new Uint8Array(await withKernels.hmac('SHA-256', key, data))).toEqual(new Uint8Array(await plain.hmac('SHA-256', key, data)))
      expect(new Uint8Array(await withKernels.digest('SHA-1', data))).toEqual(new Uint8Array(createHash('sha1').update(data).digest()))
    }
  })
})

describe('AES-CFB without a CFB cipher (Deno)', () => {
  it('the CBC construction equals OpenSSL aes-*-cfb for every key size and length 0..80', () => {
    for (const bits of [128, 192, 256]) {
      for (let n = 0; n <= 80; n++) {
        const key = randomBytes(bits / 8)
        const iv = randomBytes(16)
        const pt = randomBytes(n)
        const c = createCipheriv(`aes-${bits}-cfb`, key, iv)
        expect(Buffer.from(aesCfbViaCbc(key, iv, pt))).toEqual(Buffer.concat([c.update(pt), c.final()]))
      }
    }
  })
})

describe('node:crypto provider signing (sign, the server CA path)', () => {
  const p = createNodeCryptoProvider()
  const pkcs8 = (k: import('node:crypto').KeyObject) => new Uint8Array(k.export({ format: 'der', type: 'pkcs8' }))

  it('ECDSA P-256, P-384 and RSA (PKCS#1 v1.5, PSS) signatures verify with node:crypto; P1363 r||s for ECDSA', async () => {
    const { verify } = await import('node:crypto')
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' })
    const cases = [
      { pair: ec, scheme: { name: 'ECDSA', hash: 'SHA-256' } as const, size: 64, opts: { dsaEncoding: 'ieee-p1363' as const } },
      { pair: p384, scheme: { name: 'ECDSA', hash: 'SHA-384' } as const, size: 96, opts: { dsaEncoding: 'ieee-p1363' as const } },
      { pair: rsa, scheme: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const, size: 256, opts: {} },
      {
        pair: rsa,
        scheme: { name: 'RSA-PSS', hash: 'SHA-256', saltLength: 32 } as const,
        size: 256,
        opts: { padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 },
      },
    ]
    for (const c of cases) {
      const key = pkcs8(c.pair.privateKey)
      const sig = await p.sign!(c.scheme, key, msg)
      expect(sig.length).toBe(c.size)
      const hash = c.scheme.hash.replace('-', '').toLowerCase()
      expect(verify(hash, msg, { key: c.pair.publicKey, ...c.opts }, sig)).toBe(true)
      const bent = Uint8Array.from(msg)
      bent[0]! ^= 1
      expect(verify(hash, bent, { key: c.pair.publicKey, ...c.opts }, sig)).toBe(false)
      // a second call on the same bytes object (the imported key is reused) signs as well
      expect(verify(hash, msg, { key: c.pair.publicKey, ...c.opts }, await p.sign!(c.scheme, key, msg))).toBe(true)
    }
    // and the provider's own verify accepts its ECDSA signature
    expect(
      await p.verify(
        { name: 'ECDSA', hash: 'SHA-256' },
        ecPub,
        msg,
        await p.sign!({ name: 'ECDSA', hash: 'SHA-256' }, pkcs8(ec.privateKey), msg),
      ),
    ).toBe(true)
  })

  it('bytes that are not a PKCS#8 private key are refused (throws), not signed with', async () => {
    await expect(p.sign!({ name: 'ECDSA', hash: 'SHA-256' }, new Uint8Array(40).fill(1), msg)).rejects.toThrow()
  })
})
