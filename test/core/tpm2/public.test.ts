import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { checkAkPublic, checkDevIdPublic, checkObjectAttributes, AK_ATTRIBUTES } from '../../../core/tpm2/attributes.ts'
import { TPM_ALG, TPM_ECC, TPMA_OBJECT } from '../../../core/tpm2/constants.ts'
import { computeName } from '../../../core/tpm2/name.ts'
import { publicKeyFromTpmtPublic, publicKeysEqual } from '../../../core/tpm2/public-key.ts'
import {
  encodeTpmtPublic,
  parsePublicArea,
  parseTpmtPublic,
  toTpm2bPublic,
  type TPMT_PUBLIC_ECC,
  type TPMT_PUBLIC_RSA,
} from '../../../core/tpm2/public.ts'
import { parseTpmtSignature, signatureFromPlain, verifyTpmSignature } from '../../../core/tpm2/signature.ts'
import { parseTpmsAttest } from '../../../core/tpm2/attest.ts'

const v = (p: string) => new Uint8Array(readFileSync(new URL(`../../vectors/real-tpm/${p}`, import.meta.url)))
const gceAk = v('google-go-tpm-tools/derived/gce-cos-85-no-nonce/ak_pub.tpmt_public.bin')

const A = TPMA_OBJECT
const rsaTemplate = (attrs: number, scheme: number = TPM_ALG.RSASSA, hash: number = TPM_ALG.SHA256): Omit<TPMT_PUBLIC_RSA, 'raw'> => ({
  type: TPM_ALG.RSA,
  nameAlg: TPM_ALG.SHA256,
  objectAttributes: attrs,
  authPolicy: new Uint8Array(),
  parameters: {
    symmetric: { algorithm: TPM_ALG.NULL, keyBits: 0, mode: TPM_ALG.NULL },
    scheme: { scheme, hashAlg: scheme === TPM_ALG.NULL ? TPM_ALG.NULL : hash },
    keyBits: 2048,
    exponent: 0,
  },
  unique: new Uint8Array(256).fill(0xc5),
})
const eccTemplate = (attrs: number, hash: number = TPM_ALG.SHA256): Omit<TPMT_PUBLIC_ECC, 'raw'> => ({
  type: TPM_ALG.ECC,
  nameAlg: TPM_ALG.SHA256,
  objectAttributes: attrs,
  authPolicy: new Uint8Array(),
  parameters: {
    symmetric: { algorithm: TPM_ALG.NULL, keyBits: 0, mode: TPM_ALG.NULL },
    scheme: { scheme: TPM_ALG.ECDSA, hashAlg: hash },
    curveID: TPM_ECC.NIST_P256,
    kdf: { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL },
  },
  unique: { x: new Uint8Array(32).fill(1), y: new Uint8Array(32).fill(2) },
})
const AK = A.restricted | A.sign | A.fixedTPM | A.fixedParent | A.sensitiveDataOrigin | A.userWithAuth
const DEVID = A.sign | A.fixedTPM | A.fixedParent | A.sensitiveDataOrigin | A.userWithAuth

describe('TPMT_PUBLIC', () => {
  it('parses a real GCE AK and re-encodes it byte for byte', () => {
    const pub = parseTpmtPublic(gceAk)
    expect(pub.type).toBe(TPM_ALG.RSA)
    expect(pub.objectAttributes & A.restricted).toBeTruthy()
    expect(encodeTpmtPublic(pub)).toEqual(gceAk)
    expect(parsePublicArea(toTpm2bPublic(gceAk)).raw).toEqual(gceAk)
    expect(parsePublicArea(gceAk).raw).toEqual(gceAk)
  })

  it('round-trips RSA and ECC templates and maps exponent 0 to 65537', () => {
    const rsa = parseTpmtPublic(encodeTpmtPublic(rsaTemplate(AK)))
    const key = publicKeyFromTpmtPublic(rsa)
    expect(key.kty === 'RSA' && [...key.e]).toEqual([1, 0, 1])
    const ecc = parseTpmtPublic(encodeTpmtPublic(eccTemplate(DEVID)))
    expect(publicKeyFromTpmtPublic(ecc)).toMatchObject({ kty: 'EC', crv: 'P-256' })
    expect(publicKeysEqual(publicKeyFromTpmtPublic(ecc), publicKeyFromTpmtPublic(ecc))).toBe(true)
    expect(publicKeysEqual(key, publicKeyFromTpmtPublic(ecc))).toBe(false)
  })

  it('is strict: trailing bytes, unknown algorithms, ECDAA, modulus/keyBits mismatch', () => {
    expect(() => parseTpmtPublic(new Uint8Array([...gceAk, 0]))).toThrow(/1 trailing bytes/)
    const badType = Uint8Array.from(gceAk)
    badType[1] = 0x99
    expect(() => parseTpmtPublic(badType)).toThrow(expect.objectContaining({ code: 'ERR_TPM2_UNSUPPORTED_ALGORITHM' }))
    const t = rsaTemplate(AK)
    expect(() => parseTpmtPublic(encodeTpmtPublic({ ...t, unique: new Uint8Array(255) }))).toThrow(/RSA modulus is 255 bytes, expected 256/)
    const ecdaa = encodeTpmtPublic({
      ...eccTemplate(AK),
      parameters: { ...eccTemplate(AK).parameters, scheme: { scheme: TPM_ALG.ECDAA, hashAlg: TPM_ALG.SHA256 } },
    })
    expect(() => parseTpmtPublic(ecdaa)).toThrow(/ECDAA is not supported/)
  })

  it('Name = nameAlg || SHA-256(TPMT_PUBLIC as received)', async () => {
    const name = await computeName(parseTpmtPublic(gceAk))
    const expected = JSON.parse(
      readFileSync(
        new URL('../../vectors/real-tpm/google-go-tpm-tools/derived/gce-cos-85-no-nonce/expected.json', import.meta.url),
        'utf8',
      ),
    ).ak_name_hex
    expect(Buffer.from(name).toString('hex')).toBe(expected)
  })
})

describe('attribute profiles', () => {
  it('accepts a proper AK and DevID key', () => {
    expect(() => checkAkPublic(parseTpmtPublic(encodeTpmtPublic(rsaTemplate(AK))))).not.toThrow()
    expect(() => checkDevIdPublic(parseTpmtPublic(encodeTpmtPublic(eccTemplate(DEVID))))).not.toThrow()
    expect(() => checkAkPublic(parseTpmtPublic(gceAk))).not.toThrow()
  })

  it('names every missing and forbidden bit', () => {
    const signOnly = parseTpmtPublic(encodeTpmtPublic(rsaTemplate(DEVID | A.decrypt)))
    expect(() => checkObjectAttributes(signOnly, AK_ATTRIBUTES, 'AK')).toThrow(
      'AK attributes 0x00060072: missing restricted; must not have decrypt',
    )
    const notFixed = parseTpmtPublic(encodeTpmtPublic(rsaTemplate((DEVID & ~A.fixedTPM) | A.restricted)))
    expect(() => checkDevIdPublic(notFixed)).toThrow(/missing fixedTPM; must not have restricted/)
  })

  it('AK with a NULL scheme is refused (SPIRE G5 would panic later)', () => {
    const nullScheme = parseTpmtPublic(encodeTpmtPublic(rsaTemplate(AK, TPM_ALG.NULL)))
    expect(() => checkAkPublic(nullScheme)).toThrow(/signing scheme NULL/)
  })

  it('DevID with a SHA-384 scheme gives the seed message', () => {
    const sha384 = parseTpmtPublic(encodeTpmtPublic(eccTemplate(DEVID, TPM_ALG.SHA384)))
    expect(() => checkDevIdPublic(sha384)).toThrow('DevID public: unsupported hash algorithm SHA384: only SHA-256 is supported')
    expect(() => checkDevIdPublic(sha384)).toThrow(expect.objectContaining({ code: 'ERR_DEVID_UNSUPPORTED_HASH' }))
  })
})

describe('signature scheme binding', () => {
  const attest = parseTpmsAttest(v('google-go-tpm-tools/derived/gce-cos-85-no-nonce/quote_sha256.tpms_attest.bin'))
  const sig = parseTpmtSignature(v('google-go-tpm-tools/derived/gce-cos-85-no-nonce/quote_sha256.tpmt_signature.bin'))
  const ak = parseTpmtPublic(gceAk)

  it('verifies the genuine signature', async () => {
    await expect(verifyTpmSignature({ signer: ak, signature: sig, message: attest.raw })).resolves.toBeUndefined()
  })

  it('refuses a signature whose hash is not the key scheme hash, and an ECDSA signature for an RSA key', async () => {
    await expect(verifyTpmSignature({ signer: ak, signature: { ...sig, hash: TPM_ALG.SHA1 }, message: attest.raw })).rejects.toThrow(
      /signature is RSASSA-SHA1, the signing key's scheme is RSASSA-SHA256/,
    )
    const ecdsa = { raw: sig.raw, sigAlg: TPM_ALG.ECDSA, hash: TPM_ALG.SHA256, r: new Uint8Array(32), s: new Uint8Array(32) } as const
    await expect(verifyTpmSignature({ signer: ak, signature: ecdsa, message: attest.raw })).rejects.toMatchObject({
      code: 'ERR_TPM2_SCHEME_MISMATCH',
    })
  })

  it('takes plain signatures in the signer scheme', async () => {
    if (sig.sigAlg === TPM_ALG.ECDSA) throw new Error('expected RSA')
    await expect(
      verifyTpmSignature({ signer: ak, signature: signatureFromPlain(sig.sig, ak), message: attest.raw }),
    ).resolves.toBeUndefined()
  })
})
