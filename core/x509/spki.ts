/**
 * SubjectPublicKeyInfo (RFC 5280 §4.1.2.7) to a runtime-neutral {@link PublicKey}:
 * rsaEncryption / id-RSASSA-PSS (RFC 3279 §2.3.1, RFC 4055 §1.2) and id-ecPublicKey with a named
 * curve P-256/P-384/P-521 and an uncompressed point (RFC 5480 §2.2). RSA: modulus 512..16384 bits,
 * public exponent odd, at least 3 and at most 32 bits long.
 */
import type { NamedCurve, PublicKey } from '../crypto/provider.ts'
import { DerReader, parseDerElement, TAG, type DerElement } from '../der/reader.ts'
import { oidOf, OID } from '../der/oid.ts'
import { decodeBitString, decodeNull, decodeUnsigned } from '../der/values.ts'
import { DER_NULL, encodeBitString, encodeOidTlv, encodeSequence, encodeUnsignedInteger } from '../der/writer.ts'
import { DerError, VerifyError, X509Error } from '../errors.ts'

const CURVES: Record<string, { crv: NamedCurve; size: number }> = {
  [OID.secp256r1]: { crv: 'P-256', size: 32 },
  [OID.secp384r1]: { crv: 'P-384', size: 48 },
  [OID.secp521r1]: { crv: 'P-521', size: 66 },
}

/** Field size in bytes of a curve (32, 48, 66). */
export function curveFieldSize(crv: NamedCurve): number {
  return crv === 'P-256' ? 32 : crv === 'P-384' ? 48 : 66
}

function unsupported(message: string): never {
  throw new X509Error('ERR_X509_UNSUPPORTED_ALGORITHM', message)
}

/** Parses an SPKI element already read from a certificate. */
export function parseSpkiElement(el: DerElement): PublicKey {
  const r = DerReader.sequence(el, 'subjectPublicKeyInfo')
  const algEl = r.expect(TAG.SEQUENCE, 'algorithm')
  const bits = decodeBitString(r.next('subjectPublicKey'), 'subjectPublicKey')
  r.finish()
  if (bits.unusedBits !== 0) throw new DerError('ERR_DER_MALFORMED', 'subjectPublicKey: unused bits in a key bit string')
  const ar = DerReader.of(algEl, 'spki algorithm')
  const oidEl = ar.expect(TAG.OID, 'algorithm')
  const oid = oidOf(oidEl)
  if (oid === OID.rsaEncryption || oid === OID.rsassaPss) {
    if (oid === OID.rsaEncryption) {
      decodeNull(ar.next('rsaEncryption parameters'), 'rsaEncryption parameters')
    } else if (!ar.done) {
      ar.expect(TAG.SEQUENCE, 'RSASSA-PSS-params')
    }
    ar.finish()
    const key = parseDerElement(bits.bytes, 'RSAPublicKey')
    const kr = DerReader.sequence(key, 'RSAPublicKey')
    const n = decodeUnsigned(kr.next('modulus'), 'modulus')
    const e = decodeUnsigned(kr.next('publicExponent'), 'publicExponent')
    kr.finish()
    if (n.length < 64 || n.length > 2048) unsupported(`rsa modulus of ${n.length * 8} bits is outside 512..16384`)
    // a bounded exponent bounds the cost of any signature check over this key, including those
    // made before the sender is authenticated (a CSR, a DevID chain): 32 bits, as Go and CNG
    if (e.length > 4) unsupported(`rsa public exponent of ${e.length * 8} bits is longer than 32 bits`)
    if (!(e[e.length - 1]! & 1) || (e.length === 1 && e[0]! < 3)) {
      throw new X509Error('ERR_X509_MALFORMED', 'rsa public exponent must be odd and at least 3')
    }
    return { kty: 'RSA', n: n.slice(), e: e.slice() }
  }
  if (oid === OID.ecPublicKey) {
    const curveEl = ar.next('namedCurve')
    if (curveEl.tag !== TAG.OID) unsupported('ec key parameters are not a named curve (explicit or implicit curves are not supported)')
    ar.finish()
    const curveOid = oidOf(curveEl)
    const curve = CURVES[curveOid]
    if (!curve) unsupported(`ec curve ${curveOid} is not supported, expected P-256, P-384 or P-521`)
    const p = bits.bytes
    if (p[0] !== 0x04) unsupported('ec point is not uncompressed (0x04)')
    if (p.length !== 1 + 2 * curve.size) {
      throw new X509Error('ERR_X509_MALFORMED', `ec point of ${p.length} bytes, expected ${1 + 2 * curve.size} for ${curve.crv}`)
    }
    return { kty: 'EC', crv: curve.crv, x: p.slice(1, 1 + curve.size), y: p.slice(1 + curve.size) }
  }
  unsupported(`public key algorithm ${oid} is not supported, expected rsaEncryption, RSASSA-PSS or id-ecPublicKey`)
}

/** The public key of a DER SubjectPublicKeyInfo (exact, no trailing data). Throws VerifyError. */
export function parseSubjectPublicKeyInfo(der: Uint8Array): PublicKey {
  try {
    return parseSpkiElement(parseDerElement(der, 'subjectPublicKeyInfo'))
  } catch (e) {
    if (e instanceof VerifyError) throw e
    throw new X509Error('ERR_X509_MALFORMED', 'subjectPublicKeyInfo does not parse', { cause: e })
  }
}

const CURVE_OID: Record<NamedCurve, string> = { 'P-256': OID.secp256r1, 'P-384': OID.secp384r1, 'P-521': OID.secp521r1 }

/**
 * The DER SubjectPublicKeyInfo of a key, as OpenSSL writes it (`openssl pkey -pubin -outform DER`):
 * rsaEncryption with NULL parameters, or id-ecPublicKey with the named curve and an uncompressed point.
 */
export function encodeSubjectPublicKeyInfo(key: PublicKey): Uint8Array<ArrayBuffer> {
  if (key.kty === 'RSA') {
    const rsaKey = encodeSequence(encodeUnsignedInteger(key.n), encodeUnsignedInteger(key.e))
    return encodeSequence(algorithmIdentifier('RSA'), encodeBitString(rsaKey))
  }
  const size = curveFieldSize(key.crv)
  if (key.x.length !== size || key.y.length !== size) throw new RangeError(`ec coordinates must be ${size} bytes for ${key.crv}`)
  const point = new Uint8Array(1 + 2 * size)
  point[0] = 0x04
  point.set(key.x, 1)
  point.set(key.y, 1 + size)
  return encodeSequence(algorithmIdentifier(key.crv), encodeBitString(point))
}

/** The AlgorithmIdentifier DER for RSA keys or an EC curve, encoded once. */
const algorithmIds = new Map<'RSA' | NamedCurve, Uint8Array>()
function algorithmIdentifier(kind: 'RSA' | NamedCurve): Uint8Array {
  let id = algorithmIds.get(kind)
  if (!id) {
    id =
      kind === 'RSA'
        ? encodeSequence(encodeOidTlv(OID.rsaEncryption), DER_NULL)
        : encodeSequence(encodeOidTlv(OID.ecPublicKey), encodeOidTlv(CURVE_OID[kind]))
    algorithmIds.set(kind, id)
  }
  return id
}
