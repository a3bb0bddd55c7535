import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { EK_TOLERANCES } from '../../../core/der/tolerance.ts'
import { withPlatform } from '../../../core/platform.ts'
import { createCertificateCache, parseCertificateCached } from '../../../core/x509/certificate-cache.ts'

const ek = (p: string) => new URL(`../../vectors/real-tpm-ek/${p}`, import.meta.url)
const cases = JSON.parse(readFileSync(ek('cases.json'), 'utf8')) as { cases: { id: string; leaf: string; tolerances: string[] }[] }
const der = (id: string) => new Uint8Array(readFileSync(ek(cases.cases.find((c) => c.id === id)!.leaf)))
const padded = der('ek-st_sha256_with_rsa_der.ff_padded.der') // needs the trailing-data tolerance
const strictOk = der('ek-st_ecdsa_sha256_der.der')

describe('certificate cache', () => {
  it('parses a DER once and returns the same certificate for equal bytes in a new buffer', () => {
    const cache = createCertificateCache()
    const a = cache.parse(strictOk)
    const b = cache.parse(strictOk.slice())
    expect(b).toBe(a)
    expect(cache.size).toBe(1)
  })

  it('keys by parse options: a tolerant parse never answers for a strict one', () => {
    const cache = createCertificateCache()
    const tolerant = cache.parse(padded, { tolerate: EK_TOLERANCES })
    expect(tolerant.serialNumber.length).toBeGreaterThan(0)
    expect(() => cache.parse(padded)).toThrow(/bytes follow the DER/)
    expect(() => cache.parse(padded)).toThrow(/bytes follow the DER/)
    expect(cache.parse(padded, { tolerate: EK_TOLERANCES })).toBe(tolerant)
  })

  it('parseCertificateCached goes through the platform cache when there is one, else parses each time', () => {
    const cache = createCertificateCache()
    const platform = withPlatform({ certificates: cache })
    expect(parseCertificateCached(strictOk, {}, platform)).toBe(parseCertificateCached(strictOk.slice(), {}, platform))
    expect(parseCertificateCached(strictOk, {}, withPlatform({}))).not.toBe(parseCertificateCached(strictOk, {}, withPlatform({})))
  })

  it("the cached certificate does not share the caller's buffer", () => {
    const cache = createCertificateCache()
    const input = strictOk.slice()
    const cert = cache.parse(input)
    const tbs = Array.from(cert.tbsRaw)
    input.fill(0)
    expect(Array.from(cert.tbsRaw)).toEqual(tbs)
  })
})
