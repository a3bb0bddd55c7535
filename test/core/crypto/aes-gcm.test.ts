import { createCipheriv, randomBytes } from 'node:crypto'
import { Crypto as PeculiarCrypto } from '@peculiar/webcrypto'
import { describe, expect, it } from 'vitest'
import { fromHex, toHex } from '../../../core/bytes/encoding.ts'
import type { CryptoProvider } from '../../../core/crypto/provider.ts'
import { createWebCryptoProvider } from '../../../core/crypto/webcrypto.ts'
import { createNodeCryptoProvider } from '../../../runtimes/node/crypto-provider.ts'

const providers: [string, CryptoProvider][] = [
  ['webcrypto', createWebCryptoProvider(globalThis.crypto)],
  ['@peculiar/webcrypto', createWebCryptoProvider(new PeculiarCrypto() as unknown as Crypto)],
  ['node:crypto', createNodeCryptoProvider()],
]

// The GCM specification (McGrew & Viega, "The Galois/Counter Mode of Operation"), Appendix B,
// Test Case 16: AES-256, 96-bit IV, with additional data.
const TC16 = {
  key: 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308',
  iv: 'cafebabefacedbaddecaf888',
  aad: 'feedfacedeadbeeffeedfacedeadbeefabaddad2',
  pt: 'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39',
  ct: '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662',
  tag: '76fc6ece0f4e1768cddf8853bb2d551b',
}

describe.each(providers)('AES-GCM (%s)', (_name, p) => {
  it('matches the GCM spec test case 16 and opens it again', async () => {
    const sealed = await p.aesGcmEncrypt(fromHex(TC16.key), fromHex(TC16.iv), fromHex(TC16.aad), fromHex(TC16.pt))
    expect(toHex(sealed)).toBe(TC16.ct + TC16.tag)
    const opened = await p.aesGcmDecrypt(fromHex(TC16.key), fromHex(TC16.iv), fromHex(TC16.aad), sealed)
    expect(opened && toHex(opened)).toBe(TC16.pt)
  })

  it('agrees with node:crypto for random inputs and refuses any change (undefined, no throw)', async () => {
    for (const n of [0, 1, 16, 33, 300]) {
      const key = randomBytes(32)
      const iv = randomBytes(12)
      const aad = randomBytes(n % 40)
      const pt = randomBytes(n)
      const c = createCipheriv('aes-256-gcm', key, iv).setAAD(aad)
      const expected = Buffer.concat([c.update(pt), c.final(), c.getAuthTag()])
      const sealed = await p.aesGcmEncrypt(key, iv, aad, pt)
      expect(Buffer.from(sealed)).toEqual(expected)
      expect(Buffer.from((await p.aesGcmDecrypt(key, iv, aad, sealed))!)).toEqual(pt)
      const flipped = sealed.slice()
      flipped[n % flipped.length]! ^= 0x80
      expect(await p.aesGcmDecrypt(key, iv, aad, flipped)).toBeUndefined()
      const otherAad = new Uint8Array([...aad, 1])
      expect(await p.aesGcmDecrypt(key, iv, otherAad, sealed)).toBeUndefined()
      const otherKey = Uint8Array.from(key)
      otherKey[0]! ^= 1
      expect(await p.aesGcmDecrypt(otherKey, iv, aad, sealed)).toBeUndefined()
    }
    expect(await p.aesGcmDecrypt(randomBytes(32), randomBytes(12), new Uint8Array(0), new Uint8Array(15))).toBeUndefined()
  })

  it('refuses wrong key and IV sizes with a RangeError', async () => {
    await expect(p.aesGcmEncrypt(new Uint8Array(31), new Uint8Array(12), new Uint8Array(0), new Uint8Array(1))).rejects.toThrow(RangeError)
    await expect(p.aesGcmDecrypt(new Uint8Array(32), new Uint8Array(16), new Uint8Array(0), new Uint8Array(32))).rejects.toThrow(RangeError)
  })
})
