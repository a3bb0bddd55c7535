// Wycheproof (Apache-2.0; test/vectors/wycheproof/NOTICE) for the other primitives MakeCredential
// uses: HMAC-SHA256 (KDFa, outer HMAC), RSA-OAEP SHA-256 (RSA EK seed) and ECDH P-256 (ECC EK seed).
import { readFileSync } from 'node:fs'
import { constants, createECDH, createHmac, privateDecrypt } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { CryptoProvider, EcPublicKey, RsaPublicKey } from '../../../core/crypto/provider.ts'
import { createWebCryptoProvider } from '../../../core/crypto/webcrypto.ts'
import { makeCredential } from '../../../core/credential/make-credential.ts'
import { credentialEkFromPublicKey } from '../../../core/credential/ek.ts'
import { fromHex, toHex } from '../../../core/bytes/encoding.ts'
import { CredentialError } from '../../../core/errors.ts'
import { withPlatform } from '../../../core/platform.ts'
import { createNodeCryptoProvider } from '../../../runtimes/node/crypto-provider.ts'

const load = (f: string) => JSON.parse(readFileSync(new URL(`../../vectors/wycheproof/${f}`, import.meta.url), 'utf8'))
const providers: [string, CryptoProvider][] = [
  ['webcrypto', createWebCryptoProvider(globalThis.crypto)],
  ['node:crypto', createNodeCryptoProvider()],
]

describe.each(providers)('Wycheproof primitives through the %s provider', (_name, p) => {
  it('HMAC-SHA256: all 174 cases (256/128-bit tags, 128/256/520-bit keys), tags compared at tagSize', async () => {
    const data = load('hmac_sha256_test.json')
    const wrong: number[] = []
    let n = 0
    for (const g of data.testGroups) {
      for (const t of g.tests) {
        n++
        const full = await p.hmac('SHA-256', fromHex(t.key), fromHex(t.msg))
        const ok = toHex(full.subarray(0, g.tagSize / 8)) === t.tag
        if (ok !== (t.result === 'valid')) wrong.push(t.tcId)
      }
    }
    expect(n).toBe(174)
    expect(wrong).toEqual([])
  })

  it('HMAC with an empty key (Web Crypto refuses one; the provider pads per RFC 2104) equals node:crypto for every hash', async () => {
    for (const [hash, node] of [
      ['SHA-1', 'sha1'],
      ['SHA-256', 'sha256'],
      ['SHA-384', 'sha384'],
      ['SHA-512', 'sha512'],
    ] as const) {
      for (const msg of [new Uint8Array(0), new Uint8Array(200).fill(0x5c)]) {
        const want = createHmac(node, Buffer.alloc(0)).update(msg).digest('hex')
        expect(toHex(await p.hmac(hash, new Uint8Array(0), msg)), hash).toBe(want)
      }
    }
    // and a one-byte zero key is NOT special-cased into a different result
    expect(toHex(await p.hmac('SHA-256', new Uint8Array(1), new Uint8Array(3)))).toBe(
      createHmac('sha256', Buffer.alloc(1)).update(Buffer.alloc(3)).digest('hex'),
    )
  })

  it.each([
    'rsa_oaep_2048_sha256_mgf1sha256_test.json',
    'rsa_oaep_3072_sha256_mgf1sha256_test.json',
    'rsa_oaep_4096_sha256_mgf1sha256_test.json',
  ])('RSA-OAEP SHA-256 %s: every valid (msg, label) encrypts to something the vector private key decrypts back', async (file) => {
    const data = load(file)
    let n = 0
    for (const g of data.testGroups) {
      const pub: RsaPublicKey = { kty: 'RSA', n: trim(fromHex(g.privateKey.modulus)), e: trim(fromHex(g.privateKey.publicExponent)) }
      const decrypt = (ct: Uint8Array, label: string) =>
        privateDecrypt(
          { key: g.privateKeyPem, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: Buffer.from(label, 'hex') },
          ct,
        ).toString('hex')
      for (const t of g.tests.filter((t: { result: string }) => t.result === 'valid')) {
        n++
        // the oracle agrees with the vector first
        expect(decrypt(fromHex(t.ct), t.label)).toBe(t.msg)
        const ct = await p.rsaOaepEncrypt(pub, 'SHA-256', fromHex(t.label), fromHex(t.msg))
        expect(ct).toHaveLength(pub.n.length)
        expect(decrypt(ct, t.label), `tcId ${t.tcId}`).toBe(t.msg)
      }
    }
    expect(n).toBe(18)
  })

  it('ECDH P-256: every point-not-on-curve public key (InvalidCurveAttack) is refused, and makeCredential turns that into ERR_CREDENTIAL_UNSUPPORTED_KEY', async () => {
    const data = load('ecdh_secp256r1_ecpoint_test.json')
    const bad = data.testGroups
      .flatMap((g: { tests: { flags: string[]; public: string }[] }) => g.tests)
      .filter((t: { flags: string[]; public: string }) => t.flags.includes('InvalidCurveAttack') && t.public.length === 130)
    expect(bad).toHaveLength(16)
    for (const t of bad) {
      const pt = fromHex(t.public)
      const peer: EcPublicKey = { kty: 'EC', crv: 'P-256', x: pt.subarray(1, 33), y: pt.subarray(33) }
      await expect(p.ecdhEphemeral(peer)).rejects.toThrow()
      const made = makeCredential(
        { ekPublic: credentialEkFromPublicKey(peer), akName: fromHex('000b' + '00'.repeat(32)), secret: new Uint8Array(32) },
        { platform: withPlatform({ crypto: p }) },
      )
      await expect(made).rejects.toBeInstanceOf(CredentialError)
      await expect(made).rejects.toMatchObject({
        code: 'ERR_CREDENTIAL_UNSUPPORTED_KEY',
        message: 'ecc ek public key is not a valid P-256 point',
      })
    }
  })

  it('ECDH P-256: Z from ecdhEphemeral equals an independent node:crypto ECDH with the peer private key and the returned ephemeral point', async () => {
    for (let i = 0; i < 20; i++) {
      const peer = createECDH('prime256v1')
      const pub = peer.generateKeys()
      const { ephemeral, z } = await p.ecdhEphemeral({ kty: 'EC', crv: 'P-256', x: pub.subarray(1, 33), y: pub.subarray(33) })
      expect(ephemeral.x).toHaveLength(32)
      expect(ephemeral.y).toHaveLength(32)
      const want = peer.computeSecret(Buffer.concat([Buffer.from([4]), ephemeral.x, ephemeral.y]))
      expect(toHex(z)).toBe(want.toString('hex'))
    }
  })
})

describe('the node:crypto ECDH oracle used by the credential tests', () => {
  it('reproduces the shared secret of every valid uncompressed Wycheproof ECDH P-256 case', () => {
    const data = load('ecdh_secp256r1_ecpoint_test.json')
    let n = 0
    for (const g of data.testGroups) {
      for (const t of g.tests) {
        if (t.result !== 'valid') continue
        n++
        const e = createECDH('prime256v1')
        e.setPrivateKey(trim(fromHex(t.private)).length > 32 ? fromHex(t.private).subarray(-32) : pad32(trim(fromHex(t.private))))
        expect(e.computeSecret(Buffer.from(t.public, 'hex')).toString('hex'), `tcId ${t.tcId}`).toBe(t.shared)
      }
    }
    expect(n).toBe(330)
  })
})

function trim(b: Uint8Array): Uint8Array {
  let i = 0
  while (i < b.length - 1 && b[i] === 0) i++
  return b.subarray(i)
}

function pad32(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(32)
  out.set(b, 32 - b.length)
  return out
}
