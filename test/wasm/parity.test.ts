import { createHash, createHmac } from 'node:crypto'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { jsKernels } from '../../core/kernels/js.ts'
import type { Kernels } from '../../core/kernels/types.ts'
import { loadWasmKernels } from '../../wasm/load.ts'

// One table for both implementations: the WASM kernels must equal the JS twin bit for bit, and
// both must equal node:crypto (the oracle), on FIPS vectors, on block-boundary lengths and on
// random inputs.
let wasm: Kernels
beforeAll(async () => {
  wasm = await loadWasmKernels()
})

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const abc = new TextEncoder().encode('abc')

describe.each([
  ['js', () => jsKernels],
  ['wasm', () => wasm],
] as const)('%s kernels', (kind, get) => {
  it('reports its kind', () => {
    expect(get().kind).toBe(kind)
  })

  it('SHA-256 and SHA-1 on FIPS 180 vectors', () => {
    const k = get()
    expect(hex(k.sha256(abc))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
    expect(hex(k.sha256(new Uint8Array(0)))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
    expect(hex(k.sha1(abc))).toBe('a9993e364706816aba3e25717850c26c9cd0d89d')
  })

  it('hashes every length around the block boundaries like node:crypto', () => {
    const k = get()
    for (let n = 0; n <= 200; n++) {
      const d = new Uint8Array(n).map((_, i) => (i * 31 + n) & 255)
      expect(hex(k.sha256(d))).toBe(createHash('sha256').update(d).digest('hex'))
      expect(hex(k.sha1(d))).toBe(createHash('sha1').update(d).digest('hex'))
    }
  })

  it('HMAC-SHA256 matches RFC 4231 case 2 and node:crypto for short, block and long keys', () => {
    const k = get()
    const key = new TextEncoder().encode('Jefe')
    const data = new TextEncoder().encode('what do ya want for nothing?')
    expect(hex(k.hmacSha256(key, data))).toBe('5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843')
    for (const kl of [0, 1, 63, 64, 65, 131]) {
      const kk = new Uint8Array(kl).fill(0xaa)
      expect(hex(k.hmacSha256(kk, data))).toBe(createHmac('sha256', kk).update(data).digest('hex'))
    }
  })

  it('timingSafeEqual', () => {
    const k = get()
    expect(k.timingSafeEqual(abc, new Uint8Array([97, 98, 99]))).toBe(true)
    expect(k.timingSafeEqual(abc, new Uint8Array([97, 98, 100]))).toBe(false)
    expect(k.timingSafeEqual(abc, new Uint8Array([97, 98]))).toBe(false)
    expect(k.timingSafeEqual(new Uint8Array(0), new Uint8Array(0))).toBe(true)
  })
})

describe('wasm equals the JS twin on random inputs', () => {
  it('sha256, sha1, hmacSha256, timingSafeEqual', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2000 }), fc.uint8Array({ maxLength: 150 }), (data, key) => {
        expect(hex(wasm.sha256(data))).toBe(hex(jsKernels.sha256(data)))
        expect(hex(wasm.sha1(data))).toBe(hex(jsKernels.sha1(data)))
        expect(hex(wasm.hmacSha256(key, data))).toBe(hex(jsKernels.hmacSha256(key, data)))
        const other = data.slice()
        if (other.length) other[other.length >> 1]! ^= 1
        expect(wasm.timingSafeEqual(data, other)).toBe(jsKernels.timingSafeEqual(data, other))
      }),
      { numRuns: 500 },
    )
  })

  it('a large input grows WASM memory and still hashes correctly', () => {
    const big = new Uint8Array(300_000).map((_, i) => i & 255)
    expect(hex(wasm.sha256(big))).toBe(createHash('sha256').update(big).digest('hex'))
  })
})
