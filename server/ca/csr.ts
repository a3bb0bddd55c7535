/**
 * A PKCS#10 certification request (RFC 2986 §4) as the agent's alternative to a bare public key:
 * parsed strictly, its self-signature verified (proof of possession of the new key), and only
 * its SubjectPublicKeyInfo kept. The subject and attributes are ignored: the SVID's identity
 * comes from the attestation, never from the request.
 */
import { DerReader, parseDerElement, TAG, contextTag } from '../../core/der/reader.ts'
import { decodeBitString } from '../../core/der/values.ts'
import { X509Error } from '../../core/errors.ts'
import type { PublicKey } from '../../core/crypto/provider.ts'
import type { Platform } from '../../core/platform.ts'
import { parseSignatureAlgorithm, verifyX509Signature } from '../../core/x509/signature.ts'
import { parseSpkiElement } from '../../core/x509/spki.ts'

export interface CertificationRequest {
  /** SubjectPublicKeyInfo DER */
  readonly spki: Uint8Array
  readonly publicKey: PublicKey
}

/** Parses a DER CSR and verifies its signature with its own key. Throws VerifyError. */
export async function verifyCertificationRequest(der: Uint8Array, platform: Platform): Promise<CertificationRequest> {
  const r = DerReader.sequence(parseDerElement(der, 'certificationRequest'), 'certificationRequest')
  const infoEl = r.expect(TAG.SEQUENCE, 'certificationRequestInfo')
  const algorithm = parseSignatureAlgorithm(r.expect(TAG.SEQUENCE, 'signatureAlgorithm'), 'csr signatureAlgorithm')
  const signature = decodeBitString(r.next('signature'), 'csr signature')
  r.finish()
  const ir = DerReader.sequence(infoEl, 'certificationRequestInfo')
  const version = ir.expect(TAG.INTEGER, 'version')
  if (version.value.length !== 1 || version.value[0] !== 0) throw new X509Error('ERR_X509_MALFORMED', 'csr: version must be 0 (v1)')
  ir.expect(TAG.SEQUENCE, 'subject')
  const spkiEl = ir.expect(TAG.SEQUENCE, 'subjectPKInfo')
  ir.expect(contextTag(0, true), 'attributes')
  ir.finish()
  const publicKey = parseSpkiElement(spkiEl)
  if (signature.unusedBits !== 0) throw new X509Error('ERR_X509_MALFORMED', 'csr: signature has unused bits')
  let ok: boolean
  try {
    ok = await verifyX509Signature(algorithm.scheme, publicKey, infoEl.tlv, signature.bytes, platform)
  } catch (e) {
    // a key the crypto provider cannot import (e.g. an EC point off the curve)
    throw new X509Error('ERR_X509_MALFORMED', 'csr: the public key cannot be used for verification', { cause: e })
  }
  if (!ok) throw new X509Error('ERR_X509_SIGNATURE_INVALID', 'csr: signature does not verify with its own public key')
  return { spki: spkiEl.tlv, publicKey }
}
