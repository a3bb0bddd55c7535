import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parsePemCertificates } from '../../../core/bytes/pem.ts'
import { defaultPlatform, withPlatform } from '../../../core/platform.ts'
import { createVerifiedSignatureCache } from '../../../core/x509/verified-cache.ts'
import { verifyChain } from '../../../core/x509/verify.ts'

const ek = (p: string) => new URL(`../../vectors/real-tpm-ek/${p}`, import.meta.url)
const cases = JSON.parse(readFileSync(ek('cases.json'), 'utf8'))
const st = cases.cases.find((c: { id: string }) => c.id === 'ek-st_sha256_with_rsa_der.ff_padded.der')
const pem = (p: string) => parsePemCertificates(readFileSync(ek(p), 'utf8'))[0]!
const input = {
  leaf: new Uint8Array(readFileSync(ek(st.leaf))),
  intermediates: st.intermediates.map(pem),
  anchors: [pem(st.anchor)],
  at: Date.parse(cases.at),
  profile: 'ek' as const,
}

function countingPlatform(cache = createVerifiedSignatureCache()) {
  const base = defaultPlatform()
  const counter = { verifies: 0 }
  const platform = withPlatform({
    verifiedSignatures: cache,
    crypto: {
      ...base.crypto,
      verify: (...a: Parameters<typeof base.crypto.verify>) => {
        counter.verifies++
        return base.crypto.verify(...a)
      },
    },
  })
  return { platform, counter, cache }
}

describe('verified-signature cache on the platform', () => {
  it('a repeated chain costs only the leaf signature, and validity is still checked', async () => {
    const { platform, counter, cache } = countingPlatform()
    await verifyChain(input, { platform })
    expect(counter.verifies).toBe(3)
    // the two CA signatures are remembered; the leaf's is verified on every path
    expect(cache.size).toBe(2)
    await verifyChain(input, { platform })
    expect(counter.verifies).toBe(4)
    // the cache remembers signatures, not verdicts: an evaluation time outside validity still fails
    await expect(verifyChain({ ...input, at: Date.parse('1990-01-01T00:00:00Z') }, { platform })).rejects.toMatchObject({
      code: 'ERR_X509_NOT_YET_VALID',
    })
  })

  it('is bounded: least recently used entries go first', () => {
    const cache = createVerifiedSignatureCache(2)
    cache.set('a', true)
    cache.set('b', true)
    cache.get('a')
    cache.set('c', true)
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([true, undefined, true])
    expect(cache.size).toBe(2)
  })
})
