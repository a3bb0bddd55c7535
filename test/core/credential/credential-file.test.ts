import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { encodeCredentialFile, parseCredentialFile } from '../../../core/credential/credential-file.ts'
import { makeCredential } from '../../../core/credential/make-credential.ts'
import { credentialEkFromPublicKey } from '../../../core/credential/ek.ts'
import { fromHex, toHex } from '../../../core/bytes/encoding.ts'
import { Tpm2Error, VerifyError } from '../../../core/errors.ts'
import { generateKeyPairSync } from 'node:crypto'
import { fromBase64Url } from '../../../core/bytes/encoding.ts'

const jwk = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ format: 'jwk' })
const made = await makeCredential({
  ekPublic: credentialEkFromPublicKey({ kty: 'RSA', n: fromBase64Url(jwk.n!), e: fromBase64Url(jwk.e!) }),
  akName: fromHex('000b' + 'ab'.repeat(32)),
  secret: new Uint8Array(32).fill(1),
})
const file = encodeCredentialFile(made)

describe('tpm2-tools credential file', () => {
  it('is BADCC0DE || u32 1 || TPM2B_ID_OBJECT || TPM2B_ENCRYPTED_SECRET', () => {
    expect(toHex(file.subarray(0, 8))).toBe('badcc0de00000001')
    expect(toHex(file.subarray(8))).toBe(toHex(made.credentialBlob) + toHex(made.encryptedSecret))
    expect(file).toHaveLength(8 + 2 + 68 + 2 + 256)
  })

  it('round-trips', () => {
    const back = parseCredentialFile(file)
    expect(toHex(back.idObject)).toBe(toHex(made.idObject))
    expect(toHex(back.encSecret)).toBe(toHex(made.encSecret))
  })

  it('rejects a wrong magic, version, truncation and trailing bytes with Tpm2Error', () => {
    const bad = (mutate: (b: Uint8Array) => Uint8Array, code: string, text: string) => {
      expect(() => parseCredentialFile(mutate(file.slice()))).toThrow(Tpm2Error)
      expect(() => parseCredentialFile(mutate(file.slice()))).toThrow(text)
      try {
        parseCredentialFile(mutate(file.slice()))
      } catch (e) {
        expect((e as Tpm2Error).code).toBe(code)
      }
    }
    bad((b) => ((b[0] = 0), b), 'ERR_TPM2_MALFORMED', 'magic is 0x00dcc0de, expected 0xbadcc0de')
    bad((b) => ((b[7] = 2), b), 'ERR_TPM2_MALFORMED', 'version is 2, expected 1')
    bad((b) => b.subarray(0, b.length - 1), 'ERR_TPM2_MALFORMED', 'truncated TPM2B_ENCRYPTED_SECRET')
    bad((b) => new Uint8Array([...b, 0]), 'ERR_TPM2_TRAILING_DATA', '1 trailing bytes')
    bad((b) => ((b[8] = 0xff), b), 'ERR_TPM2_MALFORMED', 'exceeds the maximum of 132')
  })

  it('property: truncated, extended or mutated files parse or throw a VerifyError, never anything else (10,000 runs)', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.nat({ max: file.length }).map((n) => file.subarray(0, n)),
          fc.uint8Array({ maxLength: 40 }).map((tail) => new Uint8Array([...file, ...tail])),
          fc
            .array(fc.tuple(fc.nat({ max: file.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 })
            .map((edits) => {
              const b = file.slice()
              for (const [i, v] of edits) b[i] = v
              return b
            }),
          fc.uint8Array({ maxLength: 400 }).map((b) => new Uint8Array([0xba, 0xdc, 0xc0, 0xde, 0, 0, 0, 1, ...b])),
        ),
        (bytes) => {
          try {
            const r = parseCredentialFile(bytes)
            expect(toHex(encodeCredentialFile(r))).toBe(toHex(bytes))
          } catch (e) {
            expect(e).toBeInstanceOf(VerifyError)
          }
        },
      ),
      { numRuns: 10_000 },
    )
  })
})
