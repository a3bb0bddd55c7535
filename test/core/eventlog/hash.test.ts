import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { LOG_ALG } from '../../../core/eventlog/event-types.ts'
import { digestNow, digestOf } from '../../../core/eventlog/hash.ts'
import { sm3 } from '../../../core/eventlog/sm3.ts'
import { defaultPlatform } from '../../../core/platform.ts'
import { createNodePlatform, loadKernels } from '../../../runtimes/node/index.ts'

const NODE: Record<number, string> = {
  [LOG_ALG.SHA1]: 'sha1',
  [LOG_ALG.SHA256]: 'sha256',
  [LOG_ALG.SHA384]: 'sha384',
  [LOG_ALG.SHA512]: 'sha512',
}

describe('event log hashing', () => {
  it('digestOf equals node:crypto for every bank, short inputs through the kernels and long ones through the provider', async () => {
    const platforms = [defaultPlatform(), createNodePlatform(), createNodePlatform({ kernels: await loadKernels() })]
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), fc.constantFrom(...Object.keys(NODE).map(Number)), async (data, alg) => {
        const want = new Uint8Array(createHash(NODE[alg]!).update(data).digest())
        for (const p of platforms) expect(new Uint8Array(await digestOf(alg, data, p))).toEqual(want)
      }),
      { numRuns: 300 },
    )
  })

  it('digestNow answers without an await only where a kernel can (SHA-1 and SHA-256 up to 128 bytes, SM3)', () => {
    const p = defaultPlatform()
    const short = new Uint8Array(128).fill(1)
    const long = new Uint8Array(129).fill(1)
    expect(digestNow(LOG_ALG.SHA256, short, p)).toEqual(new Uint8Array(createHash('sha256').update(short).digest()))
    expect(digestNow(LOG_ALG.SHA1, short, p)).toEqual(new Uint8Array(createHash('sha1').update(short).digest()))
    expect(digestNow(LOG_ALG.SHA256, long, p)).toBeUndefined()
    expect(digestNow(LOG_ALG.SHA384, short, p)).toBeUndefined()
    expect(digestNow(LOG_ALG.SM3_256, long, p)).toEqual(sm3(long))
    expect(() => digestOf(0x1234, short, p)).toThrow(TypeError)
  })
})
