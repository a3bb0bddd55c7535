import { constants, generateKeyPairSync, sign } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { TPM_ALG, TPM_ECC, TPMA_OBJECT as A } from '../../../core/tpm2/constants.ts'
import { encodeTpmtPublic, parseTpmtPublic, type TPMT_PUBLIC_ECC, type TPMT_PUBLIC_RSA } from '../../../core/tpm2/public.ts'
import { signatureFromPlain, verifyTpmSignature } from '../../../core/tpm2/signature.ts'

// Real keys (node:crypto) wrapped in TPMT_PUBLIC templates, so every scheme path signs for real.
const AK = A.restricted | A.sign | A.fixedTPM | A.fixedParent | A.sensitiveDataOrigin | A.userWithAuth
const NULL_SYM = { algorithm: TPM_ALG.NULL, keyBits: 0, mode: TPM_ALG.NULL }
const message = new TextEncoder().encode('a TPMS_ATTEST stand-in')

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const rsaN = new Uint8Array(Buffer.from(rsa.publicKey.export({ format: 'jwk' }).n!, 'base64url'))
const rsaAk = (scheme: number, hashAlg: number = TPM_ALG.SHA256) =>
  parseTpmtPublic(
    encodeTpmtPublic({
      type: TPM_ALG.RSA,
      nameAlg: TPM_ALG.SHA256,
      objectAttributes: AK,
      authPolicy: new Uint8Array(),
      parameters: {
        symmetric: NULL_SYM,
        scheme: { scheme, hashAlg: scheme === TPM_ALG.NULL ? TPM_ALG.NULL : hashAlg },
        keyBits: 2048,
        exponent: 0,
      },
      unique: rsaN,
    } satisfies Omit<TPMT_PUBLIC_RSA, 'raw'>),
  )

const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
const ecJwk = ec.publicKey.export({ format: 'jwk' })
const eccAk = (scheme: number = TPM_ALG.ECDSA, hashAlg: number = TPM_ALG.SHA256) =>
  parseTpmtPublic(
    encodeTpmtPublic({
      type: TPM_ALG.ECC,
      nameAlg: TPM_ALG.SHA256,
      objectAttributes: AK,
      authPolicy: new Uint8Array(),
      parameters: {
        symmetric: NULL_SYM,
        scheme: { scheme, hashAlg: scheme === TPM_ALG.NULL ? TPM_ALG.NULL : hashAlg },
        curveID: TPM_ECC.NIST_P256,
        kdf: { scheme: TPM_ALG.NULL, hashAlg: TPM_ALG.NULL },
      },
      unique: { x: new Uint8Array(Buffer.from(ecJwk.x!, 'base64url')), y: new Uint8Array(Buffer.from(ecJwk.y!, 'base64url')) },
    } satisfies Omit<TPMT_PUBLIC_ECC, 'raw'>),
  )

const pss = (saltLength: number) =>
  new Uint8Array(sign('sha256', message, { key: rsa.privateKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength }))

describe('RSAPSS salt length', () => {
  const ak = rsaAk(TPM_ALG.RSAPSS)
  it('accepts salt = digest length (libtpms / TCG reference) and the maximum salt', async () => {
    await expect(verifyTpmSignature({ signer: ak, signature: signatureFromPlain(pss(32), ak), message })).resolves.toBeUndefined()
    await expect(
      verifyTpmSignature({ signer: ak, signature: signatureFromPlain(pss(constants.RSA_PSS_SALTLEN_MAX_SIGN), ak), message }),
    ).resolves.toBeUndefined()
  })
  it('refuses any other salt length', async () => {
    await expect(verifyTpmSignature({ signer: ak, signature: signatureFromPlain(pss(20), ak), message })).rejects.toMatchObject({
      code: 'ERR_TPM2_SIGNATURE_INVALID',
    })
    await expect(verifyTpmSignature({ signer: ak, signature: signatureFromPlain(pss(0), ak), message })).rejects.toMatchObject({
      code: 'ERR_TPM2_SIGNATURE_INVALID',
    })
  })
  it('an RSASSA signature for an RSAPSS key is a scheme mismatch, not a crash', async () => {
    const pkcs1 = new Uint8Array(sign('sha256', message, rsa.privateKey))
    await expect(
      verifyTpmSignature({ signer: ak, signature: { raw: pkcs1, sigAlg: TPM_ALG.RSASSA, hash: TPM_ALG.SHA256, sig: pkcs1 }, message }),
    ).rejects.toMatchObject({ code: 'ERR_TPM2_SCHEME_MISMATCH' })
  })
})

describe('ECDSA', () => {
  const der = () => new Uint8Array(sign('sha256', message, ec.privateKey))
  it('verifies a DER (plain) signature and refuses it for another message', async () => {
    const ak = eccAk()
    await expect(verifyTpmSignature({ signer: ak, signature: signatureFromPlain(der(), ak), message })).resolves.toBeUndefined()
    await expect(
      verifyTpmSignature({ signer: ak, signature: signatureFromPlain(der(), ak), message: message.subarray(1) }),
    ).rejects.toMatchObject({ code: 'ERR_TPM2_SIGNATURE_INVALID' })
  })
  it('a hash other than the key scheme hash, and an RSA signature for an ECC key, are scheme mismatches', async () => {
    const ak = eccAk()
    const sig = signatureFromPlain(der(), ak)
    await expect(verifyTpmSignature({ signer: ak, signature: { ...sig, hash: TPM_ALG.SHA384 }, message })).rejects.toThrow(
      /signature is ECDSA-SHA384, the signing key's scheme is ECDSA-SHA256/,
    )
    const rsaSig = { raw: new Uint8Array(256), sigAlg: TPM_ALG.RSASSA, hash: TPM_ALG.SHA256, sig: new Uint8Array(256) } as const
    await expect(verifyTpmSignature({ signer: ak, signature: rsaSig, message })).rejects.toMatchObject({ code: 'ERR_TPM2_SCHEME_MISMATCH' })
  })
})

describe('NULL-scheme signers', () => {
  it.each([
    ['RSA', () => rsaAk(TPM_ALG.NULL)],
    ['ECC', () => eccAk(TPM_ALG.NULL)],
  ] as const)('%s: refused with a clear error, whatever the signature', async (_l, make) => {
    const ak = make()
    const pkcs1 = new Uint8Array(sign('sha256', message, rsa.privateKey))
    const sig = { raw: pkcs1, sigAlg: TPM_ALG.RSASSA, hash: TPM_ALG.SHA256, sig: pkcs1 } as const
    await expect(verifyTpmSignature({ signer: ak, signature: sig, message })).rejects.toThrow(/the signing key has a NULL scheme/)
    expect(() => signatureFromPlain(pkcs1, ak)).toThrow(expect.objectContaining({ code: 'ERR_TPM2_SCHEME_MISMATCH' }))
  })
})
