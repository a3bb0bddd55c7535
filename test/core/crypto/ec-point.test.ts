import { readFileSync } from 'node:fs'
import { createPublicKey, generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { isOnCurve } from '../../../core/crypto/ec-point.ts'
import type { EcPublicKey, NamedCurve } from '../../../core/crypto/provider.ts'

const file = JSON.parse(readFileSync(new URL('../../vectors/wycheproof/ecdh_secp256r1_ecpoint_test.json', import.meta.url), 'utf8')) as {
  testGroups: { tests: { tcId: number; public: string; result: string; flags: string[] }[] }[]
}
const b64u = (b: Uint8Array) => Buffer.from(b).toString('base64url')
/** node:crypto's verdict: does the point import? */
const nodeAccepts = (k: EcPublicKey) => {
  try {
    createPublicKey({ key: { kty: 'EC', crv: k.crv, x: b64u(k.x), y: b64u(k.y) }, format: 'jwk' })
    return true
  } catch {
    return false
  }
}
const SIZE: Record<NamedCurve, number> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 }

describe('EC public point validation', () => {
  it('Wycheproof ecdh_secp256r1_ecpoint: every uncompressed valid point is on the curve, every invalid-curve point is not', () => {
    let valid = 0
    let invalid = 0
    for (const t of file.testGroups.flatMap((g) => g.tests)) {
      const p = Buffer.from(t.public, 'hex')
      if (p.length !== 65 || p[0] !== 4) continue // compressed or malformed encodings: not points this function sees
      const key: EcPublicKey = { kty: 'EC', crv: 'P-256', x: p.subarray(1, 33), y: p.subarray(33) }
      if (t.result === 'invalid') {
        expect(isOnCurve(key), `tcId ${t.tcId}`).toBe(false)
        invalid++
      } else {
        expect(isOnCurve(key), `tcId ${t.tcId}`).toBe(true)
        valid++
      }
    }
    expect(valid).toBeGreaterThan(300)
    expect(invalid).toBe(16)
  })

  it('agrees with node:crypto on real keys of every curve, on bent ones, and on random coordinates', () => {
    for (const crv of ['P-256', 'P-384', 'P-521'] as const) {
      for (let i = 0; i < 20; i++) {
        const jwk = generateKeyPairSync('ec', { namedCurve: crv }).publicKey.export({ format: 'jwk' })
        const key: EcPublicKey = { kty: 'EC', crv, x: Buffer.from(jwk.x!, 'base64url'), y: Buffer.from(jwk.y!, 'base64url') }
        expect(isOnCurve(key)).toBe(true)
        const bent = { ...key, y: Uint8Array.from(key.y, (b, j) => (j === i % key.y.length ? b ^ 1 : b)) }
        expect(isOnCurve(bent)).toBe(false)
        expect(nodeAccepts(bent)).toBe(false)
      }
    }
    fc.assert(
      fc.property(fc.constantFrom<NamedCurve>('P-256', 'P-384', 'P-521'), fc.infiniteStream(fc.integer({ min: 0, max: 255 })), (crv, s) => {
        const it = s[Symbol.iterator]()
        const bytes = () => Uint8Array.from({ length: SIZE[crv] }, () => it.next().value as number)
        const x = bytes()
        const y = bytes()
        if (crv === 'P-521') {
          x[0]! &= 1
          y[0]! &= 1
        }
        const key: EcPublicKey = { kty: 'EC', crv, x, y }
        expect(isOnCurve(key)).toBe(nodeAccepts(key))
      }),
      { numRuns: 2000 },
    )
  })

  it('refuses coordinates at or above p: (x, y) on the curve, (x + p, y) is the same point unreduced', () => {
    const p = 0xffffffff00000001000000000000000000000000ffffffffffffffffffffffffn
    const b = 0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604bn
    const pow = (base: bigint, e: bigint) => {
      let r = 1n
      for (base %= p; e > 0n; e >>= 1n, base = (base * base) % p) if (e & 1n) r = (r * base) % p
      return r
    }
    const bytes = (v: bigint) => Buffer.from(v.toString(16).padStart(64, '0'), 'hex')
    // the smallest x with a square root of x^3 - 3x + b (p = 3 mod 4: sqrt(a) = a^((p+1)/4))
    let x = 0n
    let y = 0n
    for (; ; x++) {
      const rhs = (((x * x * x - 3n * x + b) % p) + p) % p
      y = pow(rhs, (p + 1n) / 4n)
      if ((y * y) % p === rhs) break
    }
    expect(x + p < 1n << 256n).toBe(true)
    expect(isOnCurve({ kty: 'EC', crv: 'P-256', x: bytes(x), y: bytes(y) })).toBe(true)
    expect(isOnCurve({ kty: 'EC', crv: 'P-256', x: bytes(x + p), y: bytes(y) })).toBe(false)
    expect(isOnCurve({ kty: 'EC', crv: 'P-256', x: Buffer.alloc(32, 0xff), y: Buffer.alloc(32, 0xff) })).toBe(false)
  })
})
