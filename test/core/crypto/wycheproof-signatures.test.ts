// Wycheproof (C2SP/wycheproof testvectors_v1, Apache-2.0; test/vectors/wycheproof/NOTICE): every
// ECDSA P-256/SHA-256 (DER and P1363), RSASSA-PKCS1-v1_5 2048/3072/4096 SHA-256 and RSA-PSS SHA-256
// case through CryptoProvider.verify, with keys built directly as PublicKey from the vector.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { CryptoProvider, EcPublicKey, RsaPublicKey, SignatureScheme } from '../../../core/crypto/provider.ts'
import { createWebCryptoProvider } from '../../../core/crypto/webcrypto.ts'
import { ecdsaDerToP1363 } from '../../../core/crypto/ecdsa-signature.ts'
import { fromHex } from '../../../core/bytes/encoding.ts'
import { VerifyError } from '../../../core/errors.ts'
import { createNodeCryptoProvider } from '../../../runtimes/node/crypto-provider.ts'

interface Test {
  tcId: number
  comment: string
  flags: string[]
  msg: string
  sig: string
  result: 'valid' | 'invalid' | 'acceptable'
}
interface Group {
  publicKey: { wx?: string; wy?: string; modulus?: string; publicExponent?: string }
  sLen?: number
  sha: string
  mgfSha?: string
  tests: Test[]
}
const load = (f: string): { testGroups: Group[]; numberOfTests: number } =>
  JSON.parse(readFileSync(new URL(`../../vectors/wycheproof/${f}`, import.meta.url), 'utf8'))

/** Unsigned big-endian integer from Wycheproof's signed hex, left-padded/trimmed to `size` (0 = minimal). */
function uint(hex: string, size = 0): Uint8Array {
  let b = fromHex(hex.length % 2 ? '0' + hex : hex)
  let i = 0
  while (i < b.length - 1 && b[i] === 0) i++
  b = b.subarray(i)
  if (size === 0 || b.length === size) return b
  if (b.length > size) throw new Error('coordinate wider than the field')
  const out = new Uint8Array(size)
  out.set(b, size - b.length)
  return out
}
const ecKey = (g: Group): EcPublicKey => ({ kty: 'EC', crv: 'P-256', x: uint(g.publicKey.wx!, 32), y: uint(g.publicKey.wy!, 32) })
const rsaKey = (g: Group): RsaPublicKey => ({ kty: 'RSA', n: uint(g.publicKey.modulus!), e: uint(g.publicKey.publicExponent!) })

/**
 * "acceptable" policy: REJECT. The only acceptable cases here are RSASSA-PKCS1-v1_5 DigestInfo
 * encodings without the NULL parameter (flag MissingNull); RFC 8017 §9.2 note 2 allows verifiers to
 * accept them, but nothing vouch verifies (TPMs, X.509, JOSE) produces them, so a strict verifier
 * rejects. Both providers do (OpenSSL and Web Crypto re-encode and compare).
 */
const ACCEPTABLE_VERDICT = false

const providers: [string, CryptoProvider][] = [
  ['webcrypto', createWebCryptoProvider(globalThis.crypto)],
  ['node:crypto', createNodeCryptoProvider()],
]

interface Tally {
  valid: number
  invalid: number
  acceptable: number
  derRejected: number
}

async function run(
  p: CryptoProvider,
  file: string,
  scheme: (g: Group) => SignatureScheme,
  key: (g: Group) => EcPublicKey | RsaPublicKey,
  sig: (hex: string) => Uint8Array | undefined,
): Promise<Tally> {
  const data = load(file)
  const tally: Tally = { valid: 0, invalid: 0, acceptable: 0, derRejected: 0 }
  const wrong: string[] = []
  let seen = 0
  for (const g of data.testGroups) {
    const k = key(g)
    const s = scheme(g)
    for (const t of g.tests) {
      seen++
      const bytes = sig(t.sig)
      if (bytes === undefined) tally.derRejected++
      const ok = bytes !== undefined && (await p.verify(s, k, fromHex(t.msg), bytes))
      const want = t.result === 'valid' ? true : t.result === 'invalid' ? false : ACCEPTABLE_VERDICT
      tally[t.result]++
      if (ok !== want) wrong.push(`tcId ${t.tcId} (${t.result}, ${t.comment}, ${t.flags.join('/')}): got ${ok}`)
    }
  }
  expect(seen).toBe(data.numberOfTests)
  expect(wrong).toEqual([])
  return tally
}

const derToP1363 = (hex: string): Uint8Array | undefined => {
  try {
    return ecdsaDerToP1363(fromHex(hex), 32)
  } catch (e) {
    expect(e).toBeInstanceOf(VerifyError)
    return undefined
  }
}

describe.each(providers)('Wycheproof signatures through the %s provider', (_name, p) => {
  it('ECDSA P-256 SHA-256, ASN.1 DER signatures: all 484 cases, strict DER -> P1363 first', async () => {
    const t = await run(p, 'ecdsa_secp256r1_sha256_test.json', () => ({ name: 'ECDSA', hash: 'SHA-256' }), ecKey, derToP1363)
    expect(t).toMatchObject({ valid: 174, invalid: 310, acceptable: 0 })
    // the DER reader itself rejects most invalid cases (BER lengths, padded integers, wrong tags ...)
    expect(t.derRejected).toBeGreaterThan(150)
  })

  it('ECDSA P-256 SHA-256, IEEE P1363 signatures: all 262 cases', async () => {
    const t = await run(p, 'ecdsa_secp256r1_sha256_p1363_test.json', () => ({ name: 'ECDSA', hash: 'SHA-256' }), ecKey, fromHex)
    expect(t).toMatchObject({ valid: 173, invalid: 89, acceptable: 0 })
  })

  it.each([
    ['rsa_signature_2048_sha256_test.json', 9, 249],
    ['rsa_signature_3072_sha256_test.json', 8, 250],
    ['rsa_signature_4096_sha256_test.json', 7, 250],
  ])('RSASSA-PKCS1-v1_5 SHA-256 %s (acceptable MissingNull rejected)', async (file, valid, invalid) => {
    const t = await run(p, file, () => ({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }), rsaKey, fromHex)
    expect(t).toMatchObject({ valid, invalid, acceptable: 1 })
  })

  it.each([
    ['rsa_pss_2048_sha256_mgf1_32_test.json', 32, 63, 45],
    ['rsa_pss_2048_sha256_mgf1_0_test.json', 0, 61, 42],
    ['rsa_pss_3072_sha256_mgf1_32_test.json', 32, 63, 45],
    ['rsa_pss_4096_sha256_mgf1_32_test.json', 32, 63, 45],
  ])('RSA-PSS SHA-256 / MGF1-SHA-256 %s', async (file, sLen, valid, invalid) => {
    const t = await run(
      p,
      file,
      (g) => {
        expect([g.sha, g.mgfSha, g.sLen]).toEqual(['SHA-256', 'SHA-256', sLen])
        return { name: 'RSA-PSS', hash: 'SHA-256', saltLength: g.sLen! }
      },
      rsaKey,
      fromHex,
    )
    expect(t).toMatchObject({ valid, invalid, acceptable: 0 })
  })
})
