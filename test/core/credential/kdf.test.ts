import { readFileSync } from 'node:fs'
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { kdfa, kdfe, labelBytes } from '../../../core/credential/kdf.ts'
import type { HashAlg } from '../../../core/crypto/provider.ts'
import { createWebCryptoProvider } from '../../../core/crypto/webcrypto.ts'
import { fromHex, toHex } from '../../../core/bytes/encoding.ts'
import { defaultPlatform, withPlatform, type Platform } from '../../../core/platform.ts'
import { createNodeCryptoProvider } from '../../../runtimes/node/crypto-provider.ts'

// go-tpm tpm2/test/testvectors (from chrisfenner/tpm-test-vectors, validated against the TCG
// reference implementation); see test/vectors/go-tpm/NOTICE.
interface KdfaVector {
  Name: string
  HashAlg: number
  Key: string
  Label: string
  ContextU: string
  ContextV: string
  Bits: number
  Result: string
}
interface KdfeVector {
  Name: string
  HashAlg: number
  Z: string
  Label: string
  ContextU: string
  ContextV: string
  Bits: number
  Result: string
}
const load = <T>(name: string): T[] => JSON.parse(readFileSync(new URL(`../../vectors/go-tpm/${name}`, import.meta.url), 'utf8'))
const kdfaVectors = load<KdfaVector>('kdfa.json')
const kdfeVectors = load<KdfeVector>('kdfe.json')
const HASH: Record<number, HashAlg> = { 0x04: 'SHA-1', 0x0b: 'SHA-256', 0x0c: 'SHA-384', 0x0d: 'SHA-512' }

const platforms: [string, Platform][] = [
  ['webcrypto', withPlatform({ crypto: createWebCryptoProvider(globalThis.crypto) })],
  ['node:crypto', withPlatform({ crypto: createNodeCryptoProvider() })],
]

describe('go-tpm vectors are what the tests think they are', () => {
  it('has 100 KDFa and 100 KDFe vectors over all four hashes, with partial-byte lengths and empty keys', () => {
    expect(kdfaVectors).toHaveLength(100)
    expect(kdfeVectors).toHaveLength(100)
    for (const v of [...kdfaVectors, ...kdfeVectors]) expect(HASH[v.HashAlg]).toBeDefined()
    expect(new Set(kdfaVectors.map((v) => v.HashAlg)).size).toBe(4)
    expect(kdfaVectors.some((v) => v.Bits % 8 !== 0)).toBe(true)
    expect(kdfaVectors.some((v) => v.Key === '')).toBe(true)
  })
})

describe.each(platforms)('KDFa / KDFe on %s', (_name, platform) => {
  it('reproduces all 100 go-tpm KDFa vectors', async () => {
    for (const v of kdfaVectors) {
      const out = await kdfa(HASH[v.HashAlg]!, fromHex(v.Key), v.Label, fromHex(v.ContextU), fromHex(v.ContextV), v.Bits, platform)
      expect(toHex(out), v.Name).toBe(v.Result)
    }
  })

  it('reproduces all 100 go-tpm KDFe vectors', async () => {
    for (const v of kdfeVectors) {
      const out = await kdfe(HASH[v.HashAlg]!, fromHex(v.Z), v.Label, fromHex(v.ContextU), fromHex(v.ContextV), v.Bits, platform)
      expect(toHex(out), v.Name).toBe(v.Result)
    }
  })
})

describe('KDFa details', () => {
  it('hashes the label with exactly one NUL terminator', async () => {
    expect(toHex(labelBytes('STORAGE'))).toBe('53544f5241474500')
    expect(toHex(labelBytes(new Uint8Array([0x41, 0])))).toBe('4100')
    expect(toHex(labelBytes(''))).toBe('00')
    // an independent single-block computation with node:crypto
    const key = fromHex('0102030405060708090a0b0c0d0e0f10')
    const ctx = fromHex('000b' + 'aa'.repeat(32))
    const want = createHmac('sha256', key)
      .update(Buffer.from('00000001' + '53544f5241474500' + toHex(ctx) + '00000080', 'hex'))
      .digest()
      .subarray(0, 16)
    const got = await kdfa('SHA-256', key, 'STORAGE', ctx, new Uint8Array(0), 128)
    expect(toHex(got)).toBe(want.toString('hex'))
    // same label given with its NUL already present
    expect(toHex(await kdfa('SHA-256', key, utf8z('STORAGE'), ctx, new Uint8Array(0), 128))).toBe(toHex(got))
  })

  it('masks the top bits of the first byte when bits % 8 != 0 and spans several blocks', async () => {
    const key = new Uint8Array(32).fill(7)
    const full = await kdfa('SHA-256', key, 'X', new Uint8Array(0), new Uint8Array(0), 520, defaultPlatform())
    expect(full).toHaveLength(65)
    const odd = await kdfa('SHA-256', key, 'X', new Uint8Array(0), new Uint8Array(0), 515)
    expect(odd).toHaveLength(65)
    expect(odd[0]! >> 3).toBe(0)
    expect(await kdfa('SHA-256', key, 'X', new Uint8Array(0), new Uint8Array(0), 0)).toHaveLength(0)
    for (const bad of [-8, 1.5, 0x80000, Number.NaN]) {
      await expect(kdfa('SHA-256', key, 'X', new Uint8Array(0), new Uint8Array(0), bad)).rejects.toThrow(RangeError)
      await expect(kdfe('SHA-256', key, 'X', new Uint8Array(0), new Uint8Array(0), bad)).rejects.toThrow(RangeError)
    }
  })
})

function utf8z(s: string): Uint8Array {
  return new Uint8Array([...new TextEncoder().encode(s), 0])
}
