// TPMT_PUBLIC -> the runtime-neutral PublicKey the crypto port takes; key equality.
import { bytesEqual } from '../bytes/equal.ts'
import type { PublicKey } from '../crypto/provider.ts'
import { Tpm2Error } from '../errors.ts'
import { curveOf, TPM_ALG } from './constants.ts'
import type { TPMT_PUBLIC } from './public.ts'

function stripLeadingZeros(b: Uint8Array): Uint8Array {
  if (b.length <= 1 || b[0] !== 0) return b // the usual case: no view to make
  let i = 0
  while (i < b.length - 1 && b[i] === 0) i++
  return b.subarray(i)
}

function leftPad(b: Uint8Array, size: number): Uint8Array {
  if (b.length === size) return b
  const out = new Uint8Array(size)
  out.set(b, size - b.length)
  return out
}

/** The public key of an RSA or ECC object. The RSA exponent 0 means 65537 (Part 2 §12.2.3.5). */
export function publicKeyFromTpmtPublic(pub: TPMT_PUBLIC, what = 'TPMT_PUBLIC'): PublicKey {
  // one PublicKey per parsed TPMT_PUBLIC, so providers that cache imported keys per key object hit
  let key = keyOfPublic.get(pub)
  if (!key) {
    key = keyFromTpmtPublic(pub, what)
    keyOfPublic.set(pub, key)
  }
  return key
}

const keyOfPublic = new WeakMap<TPMT_PUBLIC, PublicKey>()

function keyFromTpmtPublic(pub: TPMT_PUBLIC, what: string): PublicKey {
  if (pub.type === TPM_ALG.RSA) {
    if (pub.unique.length === 0) throw new Tpm2Error('ERR_TPM2_MALFORMED', `${what}: RSA modulus is empty (a template, not a key)`)
    const e = pub.parameters.exponent === 0 ? 65537 : pub.parameters.exponent
    const eb = new Uint8Array([e >>> 24, (e >>> 16) & 255, (e >>> 8) & 255, e & 255])
    return { kty: 'RSA', n: stripLeadingZeros(pub.unique), e: stripLeadingZeros(eb) }
  }
  const curve = curveOf(pub.parameters.curveID)!
  if (pub.unique.x.length === 0 || pub.unique.y.length === 0) {
    throw new Tpm2Error('ERR_TPM2_MALFORMED', `${what}: ECC point is empty (a template, not a key)`)
  }
  return { kty: 'EC', crv: curve.crv, x: leftPad(pub.unique.x, curve.size), y: leftPad(pub.unique.y, curve.size) }
}

/** Same key: RSA n and e, or EC curve and point (leading zeros ignored, as integers). */
export function publicKeysEqual(a: PublicKey, b: PublicKey): boolean {
  if (a.kty === 'RSA' && b.kty === 'RSA') {
    return bytesEqual(stripLeadingZeros(a.n), stripLeadingZeros(b.n)) && bytesEqual(stripLeadingZeros(a.e), stripLeadingZeros(b.e))
  }
  if (a.kty === 'EC' && b.kty === 'EC') {
    return (
      a.crv === b.crv &&
      bytesEqual(stripLeadingZeros(a.x), stripLeadingZeros(b.x)) &&
      bytesEqual(stripLeadingZeros(a.y), stripLeadingZeros(b.y))
    )
  }
  return false
}

/** "RSA-2048" or "ECC P-256", for verdicts and messages. */
export function describeTpmKey(pub: TPMT_PUBLIC): string {
  return pub.type === TPM_ALG.RSA ? `RSA-${pub.parameters.keyBits}` : `ECC ${curveOf(pub.parameters.curveID)!.crv}`
}
