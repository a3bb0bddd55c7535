/**
 * The SVID key rules: what is certified (RSA 2048..8192 with e = 65537, P-256, P-384) and the
 * proof of possession (a signature over label, session ID and binding) as the agent makes it
 * with Web Crypto.
 */
import { generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { checkSvidKey, makeSvidKeyProofMessage, SVID_KEY_PROOF_LABEL, verifySvidKeyProof } from '../../../core/attestation/svid-key.ts'
import { VerifyError } from '../../../core/errors.ts'
import { defaultPlatform } from '../../../core/platform.ts'
import { parseSubjectPublicKeyInfo } from '../../../core/x509/spki.ts'

const platform = defaultPlatform()
const spkiOf = (k: import('node:crypto').KeyObject) => new Uint8Array(k.export({ type: 'spki', format: 'der' }))
const rsa = (modulusLength: number, publicExponent = 65537) =>
  parseSubjectPublicKeyInfo(spkiOf(generateKeyPairSync('rsa', { modulusLength, publicExponent }).publicKey))
const ec = (namedCurve: string) => parseSubjectPublicKeyInfo(spkiOf(generateKeyPairSync('ec', { namedCurve }).publicKey))

function codeOf(f: () => unknown): string | undefined {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(VerifyError)
    return (e as VerifyError).code
  }
  return undefined
}

describe('checkSvidKey', () => {
  it('certifies RSA 2048 with e = 65537, EC P-256 and P-384', () => {
    for (const key of [rsa(2048), ec('P-256'), ec('P-384')]) expect(codeOf(() => checkSvidKey(key))).toBeUndefined()
  })

  it('refuses RSA-512, RSA-1024, e = 3 and other small exponents, and P-521 with ERR_SVID_KEY_REJECTED', () => {
    const cases: [ReturnType<typeof rsa>, RegExp][] = [
      [rsa(512), /modulus of 512 bits is shorter than 2048/],
      [rsa(1024, 3), /modulus of 1024 bits/],
      [rsa(2048, 3), /exponent must be 65537 \(found a 2-bit exponent\)/],
      [rsa(2048, 17), /exponent must be 65537/],
      [rsa(2048, 0x10003), /exponent must be 65537/],
      [ec('P-521'), /curve P-521 is not certified/],
    ]
    for (const [key, message] of cases) {
      expect(codeOf(() => checkSvidKey(key))).toBe('ERR_SVID_KEY_REJECTED')
      expect(() => checkSvidKey(key)).toThrow(message)
    }
  })

  it('refuses an RSA modulus over 8192 bits', () => {
    const n = new Uint8Array(1025).fill(0xab)
    expect(codeOf(() => checkSvidKey({ kty: 'RSA', n, e: new Uint8Array([1, 0, 1]) }))).toBe('ERR_SVID_KEY_REJECTED')
  })
})

describe('SVID key proof of possession', () => {
  const sessionId = 'A'.repeat(32)
  const binding = new Uint8Array(32).fill(9)

  it('the message is the label, a zero byte, the session ID and the binding', () => {
    const m = makeSvidKeyProofMessage(sessionId, binding)
    expect(Buffer.from(m).toString('latin1')).toBe(`${SVID_KEY_PROOF_LABEL}\0${sessionId}${Buffer.from(binding).toString('latin1')}`)
  })

  for (const [label, gen, sign] of [
    ['P-256', { name: 'ECDSA', namedCurve: 'P-256' }, { name: 'ECDSA', hash: 'SHA-256' }],
    ['P-384', { name: 'ECDSA', namedCurve: 'P-384' }, { name: 'ECDSA', hash: 'SHA-384' }],
    [
      'RSA 2048',
      { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      { name: 'RSASSA-PKCS1-v1_5' },
    ],
  ] as const) {
    it(`${label}: a Web Crypto signature verifies; one for another session, binding or key does not`, async () => {
      const pair = (await crypto.subtle.generateKey(gen, true, ['sign', 'verify'])) as CryptoKeyPair
      const key = parseSubjectPublicKeyInfo(new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey)))
      const sig = new Uint8Array(await crypto.subtle.sign(sign, pair.privateKey, makeSvidKeyProofMessage(sessionId, binding)))
      await expect(verifySvidKeyProof(key, sessionId, binding, sig, platform)).resolves.toBeUndefined()
      const other = (await crypto.subtle.generateKey(gen, true, ['sign', 'verify'])) as CryptoKeyPair
      const otherKey = parseSubjectPublicKeyInfo(new Uint8Array(await crypto.subtle.exportKey('spki', other.publicKey)))
      for (const [k, id, b, s] of [
        [key, 'B'.repeat(32), binding, sig],
        [key, sessionId, new Uint8Array(32).fill(8), sig],
        [otherKey, sessionId, binding, sig],
        [key, sessionId, binding, sig.subarray(1)],
        [key, sessionId, binding, new Uint8Array(0)],
      ] as const) {
        await expect(verifySvidKeyProof(k, id, b, s, platform)).rejects.toMatchObject({ code: 'ERR_SVID_KEY_UNPROVEN' })
      }
    })
  }
})
