// TPMT_SIGNATURE (Part 2 §11.3.4) and signature verification over TPM-produced messages.
import { ByteReader } from '../bytes/reader.ts'
import type { PublicKey, SignatureScheme } from '../crypto/provider.ts'
import { ecdsaDerToP1363 } from '../crypto/ecdsa-signature.ts'
import { Tpm2Error } from '../errors.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import { algName, curveOf, digestSizeOf, isHashAlg, TPM_ALG, tpmHashToWebCrypto } from './constants.ts'
import { publicKeyFromTpmtPublic } from './public-key.ts'
import type { TPMT_PUBLIC } from './public.ts'

export type TPMT_SIGNATURE =
  | {
      readonly raw: Uint8Array
      readonly sigAlg: typeof TPM_ALG.RSASSA | typeof TPM_ALG.RSAPSS
      readonly hash: number
      readonly sig: Uint8Array
    }
  | {
      readonly raw: Uint8Array
      readonly sigAlg: typeof TPM_ALG.ECDSA
      readonly hash: number
      readonly r: Uint8Array
      readonly s: Uint8Array
    }

const MAX_RSA_SIG = 512
const MAX_ECC_COORD = 66

export function parseTpmtSignature(bytes: Uint8Array, what = 'TPMT_SIGNATURE'): TPMT_SIGNATURE {
  const r = new ByteReader(bytes, what)
  const sigAlg = r.u16('sigAlg')
  if (sigAlg !== TPM_ALG.RSASSA && sigAlg !== TPM_ALG.RSAPSS && sigAlg !== TPM_ALG.ECDSA) {
    throw new Tpm2Error('ERR_TPM2_UNSUPPORTED_ALGORITHM', `${what}: signature algorithm ${algName(sigAlg)} is not RSASSA, RSAPSS or ECDSA`)
  }
  const hash = r.u16('hash')
  if (!isHashAlg(hash)) throw new Tpm2Error('ERR_TPM2_UNSUPPORTED_ALGORITHM', `${what}: hash ${algName(hash)} is not a supported hash`)
  let out: TPMT_SIGNATURE
  if (sigAlg === TPM_ALG.ECDSA) {
    const rr = r.sized('signatureR', MAX_ECC_COORD)
    const s = r.sized('signatureS', MAX_ECC_COORD)
    out = { raw: bytes, sigAlg, hash, r: rr, s }
  } else {
    out = { raw: bytes, sigAlg, hash, sig: r.sized('sig', MAX_RSA_SIG) }
  }
  r.expectEnd()
  return out
}

/**
 * A "plain" signature (tpm2-tools -f plain: raw RSA bytes, or DER ECDSA) as a TPMT_SIGNATURE in
 * the signer's own scheme.
 */
export function signatureFromPlain(bytes: Uint8Array, signer: TPMT_PUBLIC): TPMT_SIGNATURE {
  const { scheme, hashAlg } = signer.parameters.scheme
  if (signer.type === TPM_ALG.ECC) {
    if (scheme !== TPM_ALG.ECDSA) throw new Tpm2Error('ERR_TPM2_SCHEME_MISMATCH', `signing key scheme ${algName(scheme)} is not ECDSA`)
    const size = curveOf(signer.parameters.curveID)!.size
    const p1363 = ecdsaDerToP1363(bytes, size)
    return { raw: bytes, sigAlg: TPM_ALG.ECDSA, hash: hashAlg, r: p1363.subarray(0, size), s: p1363.subarray(size) }
  }
  if (scheme !== TPM_ALG.RSASSA && scheme !== TPM_ALG.RSAPSS) {
    throw new Tpm2Error('ERR_TPM2_SCHEME_MISMATCH', `signing key scheme ${algName(scheme)} is not RSASSA or RSAPSS`)
  }
  return { raw: bytes, sigAlg: scheme, hash: hashAlg, sig: bytes }
}

function leftPad(b: Uint8Array, size: number): Uint8Array | undefined {
  let i = 0
  while (i < b.length && b[i] === 0 && b.length - i > size) i++
  const t = b.subarray(i)
  if (t.length > size) return undefined
  const out = new Uint8Array(size)
  out.set(t, size - t.length)
  return out
}

function signatureInvalid(signature: TPMT_SIGNATURE, what: string): Tpm2Error {
  return new Tpm2Error(
    'ERR_TPM2_SIGNATURE_INVALID',
    `${what}: ${algName(signature.sigAlg)}-${algName(signature.hash)} signature does not verify`,
  )
}

/**
 * Verifies a TPMT_SIGNATURE over `message` with a key, using the signature's own algorithm and
 * hash (for signers known only by a certificate, e.g. WebAuthn AIKs). RSAPSS: TPMs sign with a
 * salt as long as the digest (the TCG reference implementation and libtpms); a salt of the
 * maximum length is also accepted, which some hardware uses. Throws ERR_TPM2_SIGNATURE_INVALID.
 */
export async function verifyTpmSignatureWithKey(
  key: PublicKey,
  signature: TPMT_SIGNATURE,
  message: Uint8Array,
  platform: Platform = defaultPlatform(),
  what = 'signature',
): Promise<void> {
  const hash = tpmHashToWebCrypto(signature.hash)!
  if (signature.sigAlg === TPM_ALG.ECDSA) {
    if (key.kty !== 'EC') throw new Tpm2Error('ERR_TPM2_SCHEME_MISMATCH', `${what}: ECDSA signature for an RSA key`)
    const size = key.x.length
    const r = leftPad(signature.r, size)
    const s = leftPad(signature.s, size)
    if (!r || !s) throw signatureInvalid(signature, what)
    const p1363 = new Uint8Array(2 * size)
    p1363.set(r)
    p1363.set(s, size)
    if (!(await platform.crypto.verify({ name: 'ECDSA', hash }, key, message, p1363))) throw signatureInvalid(signature, what)
    return
  }
  if (key.kty !== 'RSA') throw new Tpm2Error('ERR_TPM2_SCHEME_MISMATCH', `${what}: ${algName(signature.sigAlg)} signature for an ECC key`)
  let schemes: SignatureScheme[]
  if (signature.sigAlg === TPM_ALG.RSASSA) {
    schemes = [{ name: 'RSASSA-PKCS1-v1_5', hash }]
  } else {
    const hLen = digestSizeOf(signature.hash)
    const maxSalt = key.n.length - hLen - 2
    schemes = [{ name: 'RSA-PSS', hash, saltLength: hLen }]
    if (maxSalt > hLen) schemes.push({ name: 'RSA-PSS', hash, saltLength: maxSalt })
  }
  for (const scheme of schemes) if (await platform.crypto.verify(scheme, key, message, signature.sig)) return
  throw signatureInvalid(signature, what)
}

/**
 * Verifies a signature by a TPM key over `message`. The TPMT_SIGNATURE's algorithm and hash must
 * be the signer's scheme (SPIRE ignores them, its gap G5), and a signer with a NULL scheme is
 * refused: its signatures could use any scheme the caller asked for.
 */
export async function verifyTpmSignature(
  input: { signer: TPMT_PUBLIC; signature: TPMT_SIGNATURE; message: Uint8Array },
  platform: Platform = defaultPlatform(),
  what = 'signature',
): Promise<void> {
  const { signer, signature } = input
  const { scheme, hashAlg } = signer.parameters.scheme
  if (scheme === TPM_ALG.NULL) {
    throw new Tpm2Error('ERR_TPM2_SCHEME_MISMATCH', `${what}: the signing key has a NULL scheme, so the signature scheme cannot be checked`)
  }
  if (signature.sigAlg !== scheme || signature.hash !== hashAlg) {
    throw new Tpm2Error(
      'ERR_TPM2_SCHEME_MISMATCH',
      `${what}: signature is ${algName(signature.sigAlg)}-${algName(signature.hash)}, the signing key's scheme is ${algName(scheme)}-${algName(hashAlg)}`,
    )
  }
  await verifyTpmSignatureWithKey(publicKeyFromTpmtPublic(signer), signature, input.message, platform, what)
}
