import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { fromBase64, fromBase64Url, fromHex, toBase64, toBase64Url, toHex, toHexAt } from '../../../core/bytes/encoding.ts'
import { parsePemBlocks, parsePemCertificates, toPem } from '../../../core/bytes/pem.ts'
import { VerifyError } from '../../../core/errors.ts'

describe('hex and base64', () => {
  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (b) => {
        expect(fromHex(toHex(b))).toEqual(b)
        expect(fromBase64(toBase64(b))).toEqual(b)
        expect(fromBase64Url(toBase64Url(b))).toEqual(b)
      }),
    )
  })

  it('toHexAt gives toHex of each run of bytes, read in place, and refuses a run past the end', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.array(fc.nat()), fc.nat(40), (source, picks, n) => {
        const length = Math.min(n, source.length)
        const starts = picks.map((x) => x % (source.length - length + 1))
        expect(toHexAt(source, starts, length)).toEqual(starts.map((s) => toHex(source.subarray(s, s + length))))
      }),
    )
    const buf = Uint8Array.from({ length: 256 }, (_, i) => i)
    expect(toHexAt(buf.subarray(250), [0, 3], 3)).toEqual(['fafbfc', 'fdfeff'])
    expect(() => toHexAt(buf.subarray(250), [4], 3)).toThrow(RangeError)
  })

  it('matches RFC 4648 test vectors', () => {
    const cases: [string, string][] = [
      ['', ''],
      ['f', 'Zg=='],
      ['fo', 'Zm8='],
      ['foo', 'Zm9v'],
      ['foobar', 'Zm9vYmFy'],
    ]
    for (const [plain, b64] of cases) expect(toBase64(new TextEncoder().encode(plain))).toBe(b64)
  })

  it('refuses malformed text with ERR_ENCODING_MALFORMED', () => {
    for (const bad of ['Zg', 'Zh==', 'Z===', 'Zm9v!', 'Zm9']) {
      expect(() => fromBase64(bad)).toThrow(VerifyError)
    }
    expect(() => fromHex('abc')).toThrow(/even number of hex digits/)
    expect(() => fromHex('zz')).toThrow(VerifyError)
  })
})

describe('PEM', () => {
  it('parses several blocks, skips other labels for certificates, ignores text between', () => {
    const text = `comment\n${toPem('CERTIFICATE', new Uint8Array([1, 2]))}junk\n${toPem('PUBLIC KEY', new Uint8Array([3]))}${toPem('CERTIFICATE', new Uint8Array([4]))}`
    expect(parsePemBlocks(text).map((b) => b.label)).toEqual(['CERTIFICATE', 'PUBLIC KEY', 'CERTIFICATE'])
    expect(parsePemCertificates(text)).toEqual([new Uint8Array([1, 2]), new Uint8Array([4])])
  })

  it('refuses mismatched labels', () => {
    expect(() => parsePemBlocks('-----BEGIN CERTIFICATE-----\nAA==\n-----END PUBLIC KEY-----')).toThrow(
      /begins "CERTIFICATE" but ends "PUBLIC KEY"/,
    )
  })
})

describe('strict base64 decoding', () => {
  const alphabetish = fc.string({
    unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=-_ é\n'.split('')),
    maxLength: 40,
  })

  it('accepts exactly the canonical encodings: whatever decodes re-encodes to the same text', () => {
    fc.assert(
      fc.property(alphabetish, (text) => {
        let bytes: Uint8Array | undefined
        try {
          bytes = fromBase64(text)
        } catch (e) {
          expect(e).toBeInstanceOf(VerifyError)
          expect((e as VerifyError).code).toBe('ERR_ENCODING_MALFORMED')
        }
        if (bytes) expect(toBase64(bytes)).toBe(text)
        let url: Uint8Array | undefined
        try {
          url = fromBase64Url(text)
        } catch (e) {
          expect((e as VerifyError).code).toBe('ERR_ENCODING_MALFORMED')
        }
        if (url) expect(toBase64Url(url)).toBe(text)
      }),
      { numRuns: 10_000 },
    )
  })

  it('agrees with Node Buffer on every canonical encoding of random bytes, at every length', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 5000 }), (b) => {
        const text = Buffer.from(b).toString('base64')
        expect(fromBase64(text)).toEqual(new Uint8Array(b))
        expect(fromBase64Url(Buffer.from(b).toString('base64url'))).toEqual(new Uint8Array(b))
      }),
      { numRuns: 500 },
    )
  })

  it('names the first bad character, including non-ASCII ones and padding in the middle', () => {
    expect(() => fromBase64('Zm9vYmFy!A==')).toThrow(/invalid base64 character at position 8/)
    expect(() => fromBase64('Zg==Zg==')).toThrow(/invalid base64 character at position 2/)
    expect(() => fromBase64('Zm9vé===')).toThrow(/invalid base64 character at position 4/)
    expect(() => fromBase64Url('Zm9v+A')).toThrow(/invalid base64 character at position 4/)
    expect(() => fromBase64('Zh==')).toThrow(/non-zero padding bits/)
    expect(() => fromBase64('Zm9=')).toThrow(/non-zero padding bits/)
    expect(() => fromBase64('Zm8=')).not.toThrow()
  })
})
