/**
 * The key an agent asks to have certified in its X.509-SVID (docs/protocol.md "SVID key"):
 *
 * - `checkSvidKey`: only keys worth certifying. RSA with a modulus of 2048..8192 bits and the
 *   public exponent 65537; EC on P-256 or P-384. Anything else: ERR_SVID_KEY_REJECTED.
 * - proof of possession: the agent signs `makeSvidKeyProofMessage(sessionId, binding)` with the
 *   new key (RSASSA-PKCS1-v1_5 SHA-256; ECDSA SHA-256 on P-256, SHA-384 on P-384, signature
 *   r||s as Web Crypto makes it). The message names the session, so a proof is good for one
 *   session only. A missing or failing proof: ERR_SVID_KEY_UNPROVEN.
 *
 * The binding (SHA-256 of the SPKI DER) is what the TPM proofs cover: the TPM proofs say the
 * attested agent chose this key, the key proof says the agent holds it.
 */
import { AttestationError } from '../errors.ts'
import type { PublicKey, SignatureScheme } from '../crypto/provider.ts'
import type { Platform } from '../platform.ts'

export const SVID_KEY_RSA_MIN_BITS = 2048
export const SVID_KEY_RSA_MAX_BITS = 8192
export const SVID_KEY_RSA_EXPONENT = 65537
export const SVID_KEY_PROOF_LABEL = 'vouch svid key proof v1'

/** Bit length of an unsigned big-endian integer. */
function bitLength(n: Uint8Array): number {
  let i = 0
  while (i < n.length && n[i] === 0) i++
  if (i === n.length) return 0
  return (n.length - i - 1) * 8 + (32 - Math.clz32(n[i]!))
}

function rejected(message: string): never {
  throw new AttestationError('ERR_SVID_KEY_REJECTED', message)
}

/** Throws ERR_SVID_KEY_REJECTED unless the key is RSA 2048..8192 with e = 65537, or EC P-256/P-384. */
export function checkSvidKey(key: PublicKey): void {
  if (key.kty === 'RSA') {
    const bits = bitLength(key.n)
    if (bits < SVID_KEY_RSA_MIN_BITS) rejected(`svid key: an RSA modulus of ${bits} bits is shorter than ${SVID_KEY_RSA_MIN_BITS}`)
    if (bits > SVID_KEY_RSA_MAX_BITS) rejected(`svid key: an RSA modulus of ${bits} bits is longer than ${SVID_KEY_RSA_MAX_BITS}`)
    const e = key.e
    const e65537 = e.length === 3 && e[0] === 0x01 && e[1] === 0x00 && e[2] === 0x01
    if (!e65537) rejected(`svid key: the RSA public exponent must be 65537 (found a ${bitLength(e)}-bit exponent)`)
    return
  }
  if (key.crv !== 'P-256' && key.crv !== 'P-384') rejected(`svid key: EC curve ${key.crv} is not certified (P-256 or P-384 only)`)
}

/** The signature scheme a key proof uses for this (already checked) key. */
export function svidKeyProofScheme(key: PublicKey): SignatureScheme {
  if (key.kty === 'RSA') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
  return { name: 'ECDSA', hash: key.crv === 'P-384' ? 'SHA-384' : 'SHA-256' }
}

/** The bytes the agent signs: the label, a zero byte, the session ID (ASCII), the 32-byte binding. */
export function makeSvidKeyProofMessage(sessionId: string, binding: Uint8Array): Uint8Array<ArrayBuffer> {
  const head = new TextEncoder().encode(`${SVID_KEY_PROOF_LABEL}\0${sessionId}`)
  const out = new Uint8Array(head.length + binding.length)
  out.set(head)
  out.set(binding, head.length)
  return out
}

/** Verifies a key proof; throws ERR_SVID_KEY_UNPROVEN when it does not verify. */
export async function verifySvidKeyProof(
  key: PublicKey,
  sessionId: string,
  binding: Uint8Array,
  signature: Uint8Array,
  platform: Platform,
): Promise<void> {
  let ok = false
  try {
    ok = await platform.crypto.verify(svidKeyProofScheme(key), key, makeSvidKeyProofMessage(sessionId, binding), signature)
  } catch {
    ok = false
  }
  if (!ok)
    throw new AttestationError('ERR_SVID_KEY_UNPROVEN', 'keyProof: the signature over the session binding does not verify with publicKey')
}
