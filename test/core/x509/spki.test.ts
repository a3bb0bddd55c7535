import { generateKeyPairSync } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { fromBase64Url } from '../../../core/bytes/encoding.ts'
import { VerifyError } from '../../../core/errors.ts'
import { encodeSubjectPublicKeyInfo, parseSubjectPublicKeyInfo } from '../../../core/x509/spki.ts'

function spkiOf(kp: { publicKey: import('node:crypto').KeyObject }): Uint8Array {
  return new Uint8Array(kp.publicKey.export({ type: 'spki', format: 'der' }))
}

describe('parseSubjectPublicKeyInfo', () => {
  it('RSA keys match the JWK n and e', () => {
    const kp = generateKeyPairSync('rsa', { modulusLength: 2048 })
    const jwk = kp.publicKey.export({ format: 'jwk' })
    const k = parseSubjectPublicKeyInfo(spkiOf(kp))
    expect(k.kty).toBe('RSA')
    if (k.kty !== 'RSA') return
    expect(k.n).toEqual(fromBase64Url(jwk.n!))
    expect(k.e).toEqual(fromBase64Url(jwk.e!))
    expect(encodeSubjectPublicKeyInfo(k)).toEqual(spkiOf(kp))
  })

  for (const [curve, crv, size] of [
    ['P-256', 'P-256', 32],
    ['P-384', 'P-384', 48],
    ['P-521', 'P-521', 66],
  ] as const) {
    it(`EC ${crv} keys match the JWK x and y`, () => {
      const kp = generateKeyPairSync('ec', { namedCurve: curve })
      const jwk = kp.publicKey.export({ format: 'jwk' })
      const k = parseSubjectPublicKeyInfo(spkiOf(kp))
      expect(k).toEqual({ kty: 'EC', crv, x: fromBase64Url(jwk.x!), y: fromBase64Url(jwk.y!) })
      if (k.kty === 'EC') expect(k.x.length).toBe(size)
      expect(encodeSubjectPublicKeyInfo(k)).toEqual(spkiOf(kp))
    })
  }

  it('bounds the RSA public exponent to 32 bits (a 3072-bit exponent would make every check over the key slow)', () => {
    const n = new Uint8Array(384).fill(0xc5)
    const long = new Uint8Array(384).fill(0xff)
    const err = (() => {
      try {
        parseSubjectPublicKeyInfo(encodeSubjectPublicKeyInfo({ kty: 'RSA', n, e: long }))
      } catch (e) {
        return e
      }
    })() as VerifyError
    expect(err).toBeInstanceOf(VerifyError)
    expect(err.code).toBe('ERR_X509_UNSUPPORTED_ALGORITHM')
    expect(err.message).toMatch(/exponent of 3072 bits is longer than 32 bits/)
    const e32 = new Uint8Array([0xff, 0xff, 0xff, 0xff])
    expect(parseSubjectPublicKeyInfo(encodeSubjectPublicKeyInfo({ kty: 'RSA', n, e: e32 }))).toMatchObject({ kty: 'RSA', e: e32 })
    const e33 = new Uint8Array([0x01, 0x00, 0x00, 0x00, 0x01])
    expect(() => parseSubjectPublicKeyInfo(encodeSubjectPublicKeyInfo({ kty: 'RSA', n, e: e33 }))).toThrow(/40 bits is longer than 32/)
  })

  it('rejects unsupported keys and trailing data', () => {
    const ed = spkiOf(generateKeyPairSync('ed25519'))
    expect(() => parseSubjectPublicKeyInfo(ed)).toThrow(/1\.3\.101\.112 is not supported/)
    const secp256k1 = spkiOf(generateKeyPairSync('ec', { namedCurve: 'secp256k1' }))
    expect(() => parseSubjectPublicKeyInfo(secp256k1)).toThrow(/curve 1\.3\.132\.0\.10 is not supported/)
    const p256 = spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' }))
    expect(() => parseSubjectPublicKeyInfo(Uint8Array.from([...p256, 0]))).toThrow(VerifyError)
    const compressed = new Uint8Array(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' }))
    compressed[26] = 0x02
    expect(() => parseSubjectPublicKeyInfo(compressed)).toThrow(/not uncompressed/)
  })

  it('fuzz: mutated SPKIs give a key or a VerifyError (10,000 runs)', () => {
    const seeds = [spkiOf(generateKeyPairSync('ec', { namedCurve: 'P-256' })), spkiOf(generateKeyPairSync('rsa', { modulusLength: 1024 }))]
    fc.assert(
      fc.property(fc.nat({ max: 1 }), fc.nat(), fc.integer({ min: 0, max: 255 }), fc.nat(), (s, at, v, cut) => {
        const b = seeds[s]!.slice()
        b[at % b.length] = v
        try {
          parseSubjectPublicKeyInfo(b.subarray(0, b.length - (cut % 3)))
        } catch (e) {
          if (!(e instanceof VerifyError)) throw e
        }
      }),
      { numRuns: 10_000 },
    )
  })
})
