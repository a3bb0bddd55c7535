import { readFileSync } from 'node:fs'
import { createCipheriv } from 'node:crypto'
import { Crypto as PeculiarCrypto } from '@peculiar/webcrypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { CryptoProvider } from '../../../core/crypto/provider.ts'
import { aesCfbEncryptViaCbc, createWebCryptoProvider } from '../../../core/crypto/webcrypto.ts'
import { fromHex, toHex } from '../../../core/bytes/encoding.ts'
import { createNodeCryptoProvider } from '../../../runtimes/node/crypto-provider.ts'

// NIST SP 800-38A F.3.13-F.3.18 (+ truncations) and the NIST AESAVS KATs from Mbed TLS; see
// test/vectors/aes-cfb/NOTICE. Only CFB128 (full-block feedback) is what TPM 2.0 uses.
interface CfbVector {
  name: string
  direction: string
  segment_bits: number
  key_bits: number
  key: string
  iv: string
  plaintext: string
  ciphertext: string
}
const all: CfbVector[] = JSON.parse(readFileSync(new URL('../../vectors/aes-cfb/aes-cfb-vectors.json', import.meta.url), 'utf8'))
const cfb128 = all.filter((v) => v.segment_bits === 128)

const providers: [string, CryptoProvider][] = [
  ['webcrypto', createWebCryptoProvider(globalThis.crypto)],
  ['@peculiar/webcrypto', createWebCryptoProvider(new PeculiarCrypto() as unknown as Crypto)],
  ['node:crypto', createNodeCryptoProvider()],
]

it('uses 90 CFB128 vectors: 72 KATs, 3 four-block SP 800-38A vectors, 15 partial-block truncations', () => {
  expect(cfb128).toHaveLength(90)
  expect(cfb128.filter((v) => v.plaintext.length % 32 !== 0)).toHaveLength(15)
  expect(new Set(cfb128.map((v) => v.key_bits))).toEqual(new Set([128, 192, 256]))
})

describe.each(providers)('AES-CFB128 encryption on %s', (_name, p) => {
  it('reproduces every CFB128 vector (the plaintext encrypts to the ciphertext, whatever direction the KAT was written for)', async () => {
    for (const v of cfb128) {
      const out = await p.aesCfbEncrypt(fromHex(v.key), fromHex(v.iv), fromHex(v.plaintext))
      expect(toHex(out), v.name).toBe(v.ciphertext)
    }
  })

  it('matches node:crypto aes-*-cfb for random keys, IVs and lengths 0..80 (not multiples of 16)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(16, 24, 32).chain((k) => fc.uint8Array({ minLength: k, maxLength: k })),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ minLength: 0, maxLength: 80 }),
        async (key, iv, data) => {
          const c = createCipheriv(`aes-${key.length * 8}-cfb`, key, iv)
          const want = Buffer.concat([c.update(data), c.final()])
          expect(toHex(await p.aesCfbEncrypt(key, iv, data))).toBe(want.toString('hex'))
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('AES-CFB via one AES-CBC call', () => {
  it('calls subtle.encrypt exactly once for a multi-block input and never for an empty one', async () => {
    let encrypts = 0
    const subtle = globalThis.crypto.subtle
    const counting = new Proxy(subtle, {
      get(target, prop) {
        const f = Reflect.get(target, prop) as (...a: unknown[]) => unknown
        if (prop === 'encrypt') return (...a: unknown[]) => (encrypts++, f.apply(target, a))
        return typeof f === 'function' ? f.bind(target) : f
      },
    })
    const key = fromHex('2b7e151628aed2a6abf7158809cf4f3c')
    const iv = fromHex('000102030405060708090a0b0c0d0e0f')
    const data = new Uint8Array(100).map((_, i) => i)
    const out = await aesCfbEncryptViaCbc(counting, key, iv, data)
    expect(encrypts).toBe(1)
    const c = createCipheriv('aes-128-cfb', key, iv)
    expect(toHex(out)).toBe(Buffer.concat([c.update(data), c.final()]).toString('hex'))
    expect(await aesCfbEncryptViaCbc(counting, key, iv, new Uint8Array(0))).toHaveLength(0)
    expect(encrypts).toBe(1)
  })

  it('works on subarray views and rejects wrong key and IV sizes', async () => {
    const backing = new Uint8Array(64).map((_, i) => i * 7)
    const key = backing.subarray(3, 19)
    const iv = backing.subarray(20, 36)
    const data = backing.subarray(37, 60)
    const c = createCipheriv('aes-128-cfb', key, iv)
    const want = Buffer.concat([c.update(data), c.final()]).toString('hex')
    expect(toHex(await aesCfbEncryptViaCbc(globalThis.crypto.subtle, key, iv, data))).toBe(want)
    await expect(aesCfbEncryptViaCbc(globalThis.crypto.subtle, new Uint8Array(15), iv, data)).rejects.toThrow(RangeError)
    await expect(aesCfbEncryptViaCbc(globalThis.crypto.subtle, key, new Uint8Array(32), data)).rejects.toThrow(RangeError)
  })
})
