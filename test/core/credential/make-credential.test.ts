import { readFileSync } from 'node:fs'
import { createECDH, createPublicKey, generateKeyPairSync } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { makeCredential, checkAkName } from '../../../core/credential/make-credential.ts'
import { makeSharedSeed } from '../../../core/credential/secret-sharing.ts'
import { credentialEkFromPublicKey, type CredentialEk } from '../../../core/credential/ek.ts'
import type { CryptoProvider, EcPublicKey, HashAlg, NamedCurve, PublicKey } from '../../../core/crypto/provider.ts'
import { createWebCryptoProvider } from '../../../core/crypto/webcrypto.ts'
import { fromBase64, fromBase64Url, fromHex, toHex } from '../../../core/bytes/encoding.ts'
import { CredentialError, Tpm2Error } from '../../../core/errors.ts'
import { withPlatform, type Platform } from '../../../core/platform.ts'
import { createNodeCryptoProvider } from '../../../runtimes/node/crypto-provider.ts'
import { ekFromTpmtPublicHex as ekFromVector, oaepEncryptWithSeed, softActivate, type EkPrivate } from './soft-tpm.ts'

const webcrypto = createWebCryptoProvider(globalThis.crypto)
const NODE_CURVE = { 'P-256': 'prime256v1', 'P-384': 'secp384r1', 'P-521': 'secp521r1' } as const

function keyFromNode(pem: string | Buffer): PublicKey {
  const jwk = createPublicKey(pem).export({ format: 'jwk' })
  return jwk.kty === 'RSA'
    ? { kty: 'RSA', n: fromBase64Url(jwk.n!), e: fromBase64Url(jwk.e!) }
    : { kty: 'EC', crv: jwk.crv as NamedCurve, x: fromBase64Url(jwk.x!), y: fromBase64Url(jwk.y!) }
}

/** A provider whose randomness is scripted: fixed seeds, a fixed OAEP seed, a fixed ephemeral key. */
function scripted(base: CryptoProvider, s: { random?: Uint8Array; oaepSeed?: Uint8Array; ephemeralD?: Uint8Array }): CryptoProvider {
  return {
    ...base,
    randomBytes(n) {
      if (!s.random || s.random.length !== n) throw new Error(`unexpected randomBytes(${n})`)
      return s.random
    },
    async rsaOaepEncrypt(key, hash, label, data) {
      return oaepEncryptWithSeed(key.n, key.e, hash, label, data, s.oaepSeed!)
    },
    async ecdhEphemeral(peer: EcPublicKey) {
      const ecdh = createECDH(NODE_CURVE[peer.crv])
      ecdh.setPrivateKey(s.ephemeralD!)
      const pub = ecdh.getPublicKey()
      const n = (pub.length - 1) / 2
      const z = ecdh.computeSecret(Buffer.concat([Buffer.from([4]), peer.x, peer.y]))
      return { ephemeral: { kty: 'EC', crv: peer.crv, x: pub.subarray(1, 1 + n), y: pub.subarray(1 + n) }, z }
    },
  }
}

describe('go-tpm deterministic MakeCredential (legacy/tpm2/credactivation, zero RNG)', () => {
  // quoted from credential_activation_test.go; see test/vectors/go-tpm/NOTICE
  const eccEkPem = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEsIfixqsUp8cJBSeYDhJKCZ32eAHF
3rS7HdTMOnoFj1MrX+PutPTxa6SFdhWGLnhEQyfcwRni8veQX/dSP2on2w==
-----END PUBLIC KEY-----`
  const rsaEkPem = `-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEArIqmuAvuIcakIEPd2hZl
avob21ehQ7zaHduJQNbNuKVSc1HTlvw9DkWN03b0SktcRIfsjw/omqPl60RhCx0j
qxsYnf5Gk4jhfCnUeQVicAqHnUGrKjMkLIGTZVOpyqBEXHsdhugw6M5HVIKyfwNO
KhvLZKRH8JkvtElVhLQ6E2+H83XoSpkt9oCnGPyN2Z5qRP+fhQiRylMCD8Rz8ABn
YVqGBBrG+2cBt/0uFLjxHx2mm/4sI/1scG5xrcrDLva9WZB40MehW5VlS6Fwqq05
dKtLGpk7ludjH38m2zhM5/UdKZ34skJaS/Aiyj+P5AT1BpJL2ZtjCbBdnMDUSbRF
1QIDAQAB
-----END PUBLIC KEY-----`
  const expected = {
    ecc: 'AEQAIE4SquOcMAzLi7f3ru6P8nuIpSmzr8OTACXpzLo3PTOe/oBazv+fZF2JiKDZqNPNeHISCsZMdEtEfvyYjqmzZ/CB7ABEACAeGDfvDRlRiDV1cbXlVFsSLo8JZ/2nJCA+slYczpcoXgAg+CstT57xB59sS1uDVuIyQulYttdJprVoGkEDVmvcWok=',
    rsa: 'AEQAIFjKZAUo3Wmgxu+CqHFzsQZr7BqawtprBmpXpZa77nb5S+iN6IcSPQLCKPZMNuunv7BIb4/VJA/xjMrj8RnQbjspCwEAJcQogjACOfStYTVjmR4p61ZbTTRt7ZNG5nc6iifq+TfnyfoU+E3T6Kount4M8fSUdMWlKx5A24Ms4ndi1VYOA+s4inPusyn1X1ZCHe5tNwT1E9jpVxc0jaUAVad6Q5cOgUyAp4qvc8wmaYXcIa/PzVfa6teF4iXxNqVDAYqpdmbP68v0Hk5gRqCa/tHAdg5avE3C20DP1SSvPitumWROL6mHMooVxjsyjPnHEBLo7y/BKwezEO/15xnBvPOvWs7ARIu1KdER+zrCJX9SMCPbn4cVMfLdrX70xko7XjdhV7pXtAeUeKmmKSYE45m5ZN0h83YgHXGDjf+ynWse10okyA==',
  }
  const akName = fromHex('000b' + toHex(fromBase64('5snpf9qRfKD2Tb72eLAZqC/a/MyUhg+IvdwDZkTJK9w=')))
  const secret = fromBase64('AQIDBAUGBwgBAgMEBQYHCAECAwQFBgcIAQIDBAUGBwg=')
  // Go's crypto/ecdh turns an all-zero RNG into the scalar 0x0042 || 0^30 (key[1] ^= 0x42)
  const goZeroScalar = new Uint8Array(32)
  goZeroScalar[1] = 0x42

  it.each([
    ['RSA-2048 EK (seed 16 bytes, as go-tpm)', rsaEkPem, expected.rsa],
    ['ECC P-256 EK', eccEkPem, expected.ecc],
  ])('%s: credentialBlob || encryptedSecret is byte-identical', async (_name, pem, want) => {
    const platform = withPlatform({
      crypto: scripted(webcrypto, { random: new Uint8Array(16), oaepSeed: new Uint8Array(32), ephemeralD: goZeroScalar }),
    })
    const ek = credentialEkFromPublicKey(keyFromNode(pem))
    const out = await makeCredential({ ekPublic: ek, akName, secret }, { platform, seedBytes: 16 })
    expect(toHex(new Uint8Array([...out.credentialBlob, ...out.encryptedSecret]))).toBe(toHex(fromBase64(want)))
    expect(toHex(out.credentialBlob)).toBe(toHex(new Uint8Array([out.idObject.length >> 8, out.idObject.length & 255, ...out.idObject])))
    expect(toHex(out.encryptedSecret.subarray(2))).toBe(toHex(out.encSecret))
  })
})

describe('secret sharing against the TCG-reference-validated labeled encapsulation vectors (go-tpm)', () => {
  interface Encaps {
    Name: string
    Label: string
    PublicKey: string
    Secret: string
    Ciphertext: string
    OAEPSalt?: string
    EphemeralPrivate?: string
  }
  const load = (f: string): Encaps[] => JSON.parse(readFileSync(new URL(`../../vectors/go-tpm/${f}`, import.meta.url), 'utf8'))
  // restricted decryption keys (EK-like) use nameAlg for OAEP / KDFe; unrestricted ones use their scheme
  const rsa = load('rsa_labeled_encaps.json')
    .map((v) => ({ v, ...ekFromVector(v.PublicKey) }))
    .filter((x) => x.restricted)
  const ecc = load('ecc_labeled_encaps.json')
    .map((v) => ({ v, ...ekFromVector(v.PublicKey) }))
    .filter((x) => x.restricted)

  it('covers restricted RSA 2048/3072/4096 and ECC P-256/P-521 keys over all four name algorithms', () => {
    expect(rsa.length).toBeGreaterThanOrEqual(50)
    expect(ecc.length).toBeGreaterThanOrEqual(40)
    expect(new Set([...rsa, ...ecc].map((x) => x.ek.nameAlg)).size).toBe(4)
    expect(rsa.filter((x) => x.v.Label === 'IDENTITY').length).toBe(19)
    expect(ecc.filter((x) => x.v.Label === 'IDENTITY').length).toBe(12)
  })

  it('RSA: seed = nameAlg digest size of random bytes, OAEP(nameAlg, label NUL-terminated) = the vector ciphertext', async () => {
    for (const { v, ek } of rsa) {
      const secret = fromHex(v.Secret)
      const platform = withPlatform({ crypto: scripted(webcrypto, { random: secret, oaepSeed: fromHex(v.OAEPSalt!) }) })
      const out = await makeSharedSeed(ek, v.Label, platform)
      expect(toHex(out.seed), v.Name).toBe(v.Secret)
      expect(toHex(out.encSecret), v.Name).toBe(v.Ciphertext)
    }
  })

  it('ECC: KDFe over the ECDH Z with the ephemeral and EK x-coordinates = the vector seed; encSecret = TPMS_ECC_POINT', async () => {
    for (const { v, ek } of ecc) {
      const platform = withPlatform({ crypto: scripted(webcrypto, { ephemeralD: fromHex(v.EphemeralPrivate!) }) })
      const out = await makeSharedSeed(ek, v.Label, platform)
      expect(toHex(out.seed), v.Name).toBe(v.Secret)
      expect(toHex(out.encSecret), v.Name).toBe(v.Ciphertext)
    }
  })
})

describe('software ActivateCredential (node:crypto, independent KDF/CFB/HMAC) recovers what makeCredential wraps', () => {
  const rsa2048 = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const ecKeys = Object.fromEntries(
    (['P-256', 'P-384', 'P-521'] as const).map((crv) => {
      const ecdh = createECDH(NODE_CURVE[crv])
      ecdh.generateKeys()
      return [crv, ecdh]
    }),
  )
  const ecEk = (crv: 'P-256' | 'P-384' | 'P-521'): { pub: PublicKey; priv: EkPrivate } => {
    const pub = ecKeys[crv]!.getPublicKey()
    const n = (pub.length - 1) / 2
    const x = pub.subarray(1, 1 + n)
    return { pub: { kty: 'EC', crv, x, y: pub.subarray(1 + n) }, priv: { kind: 'EC', crv, d: ecKeys[crv]!.getPrivateKey(), x } }
  }
  const cases: [string, () => { pub: PublicKey; priv: EkPrivate }, HashAlg, 128 | 192 | 256][] = [
    [
      'RSA-2048 / SHA-256 / AES-128 (TCG L-1)',
      () => ({
        pub: keyFromNode(rsa2048.publicKey.export({ type: 'spki', format: 'pem' })),
        priv: { kind: 'RSA', privateKey: rsa2048.privateKey },
      }),
      'SHA-256',
      128,
    ],
    [
      'RSA-2048 / SHA-384 / AES-256',
      () => ({
        pub: keyFromNode(rsa2048.publicKey.export({ type: 'spki', format: 'pem' })),
        priv: { kind: 'RSA', privateKey: rsa2048.privateKey },
      }),
      'SHA-384',
      256,
    ],
    [
      'RSA-2048 / SHA-1 / AES-192',
      () => ({
        pub: keyFromNode(rsa2048.publicKey.export({ type: 'spki', format: 'pem' })),
        priv: { kind: 'RSA', privateKey: rsa2048.privateKey },
      }),
      'SHA-1',
      192,
    ],
    ['P-256 / SHA-256 / AES-128 (TCG L-2)', () => ecEk('P-256'), 'SHA-256', 128],
    ['P-384 / SHA-384 / AES-256 (TCG H-3)', () => ecEk('P-384'), 'SHA-384', 256],
    ['P-521 / SHA-512 / AES-256 (TCG H-5)', () => ecEk('P-521'), 'SHA-512', 256],
  ]
  const platforms: [string, Platform][] = [
    ['webcrypto', withPlatform({ crypto: webcrypto })],
    ['node:crypto', withPlatform({ crypto: createNodeCryptoProvider() })],
  ]

  describe.each(platforms)('on %s', (_p, platform) => {
    it.each(cases)('%s', async (_name, keys, nameAlg, symBits) => {
      const { pub, priv } = keys()
      const ek: CredentialEk = { publicKey: pub, nameAlg, symmetricKeyBits: symBits }
      const akName = fromHex('000b' + '5a'.repeat(32))
      const secret = platform.crypto.randomBytes(nameAlg === 'SHA-1' ? 20 : 32)
      const out = await makeCredential({ ekPublic: ek, akName, secret }, { platform })
      expect(toHex(softActivate(priv, nameAlg, symBits, akName, out.idObject, out.encSecret))).toBe(toHex(secret))
      // bound to the AK name: any other name fails the outer HMAC (TPM_RC_INTEGRITY)
      const otherName = fromHex('000b' + '5b'.repeat(32))
      expect(() => softActivate(priv, nameAlg, symBits, otherName, out.idObject, out.encSecret)).toThrow('TPM_RC_INTEGRITY')
      // and fresh randomness each time
      const again = await makeCredential({ ekPublic: ek, akName, secret }, { platform })
      expect(toHex(again.encSecret)).not.toBe(toHex(out.encSecret))
    })
  })

  it('RSA seeds default to the nameAlg digest size and honour seedBytes', async () => {
    const pub = keyFromNode(rsa2048.publicKey.export({ type: 'spki', format: 'pem' }))
    for (const [nameAlg, seedBytes, want] of [
      ['SHA-256', undefined, 32],
      ['SHA-384', undefined, 48],
      ['SHA-256', 16, 16],
    ] as const) {
      const sizes: number[] = []
      const crypto: CryptoProvider = { ...webcrypto, randomBytes: (n) => (sizes.push(n), webcrypto.randomBytes(n)) }
      const ek: CredentialEk = { publicKey: pub, nameAlg, symmetricKeyBits: 128 }
      const out = await makeCredential(
        { ekPublic: ek, akName: fromHex('000b' + '00'.repeat(32)), secret: new Uint8Array(20) },
        { platform: withPlatform({ crypto }), seedBytes },
      )
      expect(sizes).toEqual([want])
      expect(
        toHex(
          softActivate(
            { kind: 'RSA', privateKey: rsa2048.privateKey },
            nameAlg,
            128,
            fromHex('000b' + '00'.repeat(32)),
            out.idObject,
            out.encSecret,
          ),
        ),
      ).toBe('00'.repeat(20))
    }
  })

  it('makes the go-tpm-sized TPM2B structures: 2 + 2 + 32 + 2 + 32 byte ID object, 2 + 256 byte RSA secret, 2 + 68 byte P-256 point', async () => {
    const rsaOut = await makeCredential({
      ekPublic: credentialEkFromPublicKey(keyFromNode(rsa2048.publicKey.export({ type: 'spki', format: 'pem' }))),
      akName: fromHex('000b' + '11'.repeat(32)),
      secret: new Uint8Array(32).fill(9),
    })
    expect(rsaOut.credentialBlob).toHaveLength(2 + 2 + 32 + 2 + 32)
    expect(rsaOut.encryptedSecret).toHaveLength(2 + 256)
    const ecOut = await makeCredential({
      ekPublic: credentialEkFromPublicKey(ecEk('P-256').pub),
      akName: fromHex('000b' + '11'.repeat(32)),
      secret: new Uint8Array(32).fill(9),
    })
    expect(toHex(ecOut.credentialBlob.subarray(0, 4))).toBe('00440020')
    expect(toHex(ecOut.encryptedSecret.subarray(0, 4))).toBe('00440020')
    expect(toHex(ecOut.encSecret.subarray(34, 36))).toBe('0020')
  })
})

describe('makeCredential refuses what it cannot do', () => {
  const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 })
  const rsaPub = keyFromNode(rsa1024.publicKey.export({ type: 'spki', format: 'pem' }))
  const good = fromHex('000b' + '00'.repeat(32))

  it('an unknown AK name algorithm is ERR_CREDENTIAL_UNSUPPORTED_KEY naming it; a wrong length is ERR_TPM2_MALFORMED', async () => {
    const ek = credentialEkFromPublicKey(rsaPub)
    const bad = makeCredential({ ekPublic: ek, akName: fromHex('0012' + '00'.repeat(32)), secret: new Uint8Array(32) })
    await expect(bad).rejects.toBeInstanceOf(CredentialError)
    await expect(bad).rejects.toMatchObject({ code: 'ERR_CREDENTIAL_UNSUPPORTED_KEY', message: expect.stringContaining('0x0012') })
    for (const name of [fromHex('000b' + '00'.repeat(31)), fromHex('000b'), fromHex('00'), fromHex('0004' + '00'.repeat(32))]) {
      await expect(makeCredential({ ekPublic: ek, akName: name, secret: new Uint8Array(32) })).rejects.toBeInstanceOf(Tpm2Error)
    }
    expect(checkAkName(fromHex('0004' + '00'.repeat(20)))).toBe('SHA-1')
    expect(checkAkName(fromHex('000d' + '00'.repeat(64)))).toBe('SHA-512')
  })

  it('an RSA modulus too small for OAEP with the nameAlg is ERR_CREDENTIAL_UNSUPPORTED_KEY', async () => {
    // 128-byte modulus: OAEP-SHA-512 carries at most 128 - 2*64 - 2 < 0 bytes
    const ek: CredentialEk = { publicKey: rsaPub, nameAlg: 'SHA-512', symmetricKeyBits: 128 }
    await expect(makeCredential({ ekPublic: ek, akName: good, secret: new Uint8Array(32) })).rejects.toMatchObject({
      code: 'ERR_CREDENTIAL_UNSUPPORTED_KEY',
      message: expect.stringContaining('1024 bits'),
    })
  })

  it('an unknown nameAlg (even a prototype property name) is ERR_CREDENTIAL_UNSUPPORTED_KEY', async () => {
    for (const nameAlg of ['MD5', 'constructor', 'toString']) {
      const ek = { publicKey: rsaPub, nameAlg, symmetricKeyBits: 128 } as unknown as CredentialEk
      await expect(makeCredential({ ekPublic: ek, akName: good, secret: new Uint8Array(20) })).rejects.toMatchObject({
        code: 'ERR_CREDENTIAL_UNSUPPORTED_KEY',
        message: expect.stringContaining(nameAlg),
      })
    }
  })

  it('an unsupported symmetric key size is ERR_CREDENTIAL_UNSUPPORTED_KEY', async () => {
    const ek = { publicKey: rsaPub, nameAlg: 'SHA-256', symmetricKeyBits: 64 } as unknown as CredentialEk
    await expect(makeCredential({ ekPublic: ek, akName: good, secret: new Uint8Array(32) })).rejects.toMatchObject({
      code: 'ERR_CREDENTIAL_UNSUPPORTED_KEY',
    })
  })

  it('a secret that is empty or longer than the EK nameAlg digest is caller misuse (RangeError)', async () => {
    const ek = credentialEkFromPublicKey(rsaPub)
    await expect(makeCredential({ ekPublic: ek, akName: good, secret: new Uint8Array(0) })).rejects.toThrow(RangeError)
    await expect(makeCredential({ ekPublic: ek, akName: good, secret: new Uint8Array(33) })).rejects.toThrow(RangeError)
    await expect(makeCredential({ ekPublic: ek, akName: good, secret: new Uint8Array(32) }, { seedBytes: 33 })).rejects.toThrow(RangeError)
  })
})
