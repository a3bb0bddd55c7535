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
import { parseSignatureAlgorithm, type SignatureAlgorithm, verifyX509Signature } from '../../core/x509/signature.ts'
import { parseSpkiElement } from '../../core/x509/spki.ts'

export interface CertificationRequest {
  /** SubjectPublicKeyInfo DER */
  readonly spki: Uint8Array
  readonly publicKey: PublicKey
}

/** A parsed CSR whose self-signature is not checked yet (see {@link verifyCertificationRequestSignature}). */
export interface ParsedCertificationRequest extends CertificationRequest {
  readonly algorithm: SignatureAlgorithm
  /** the DER of certificationRequestInfo, what the signature covers */
  readonly signed: Uint8Array
  readonly signature: Uint8Array
}

/**
 * Parses a DER CSR without checking its signature: the cheap part, made before the session is
 * looked up. The key is parsed with its bounds (an RSA exponent of at most 32 bits), so the
 * later signature check has a bounded cost. Throws VerifyError.
 */
export function parseCertificationRequest(der: Uint8Array): ParsedCertificationRequest {
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
  return { spki: spkiEl.tlv, publicKey, algorithm, signed: infoEl.tlv, signature: signature.bytes }
}

/** Verifies a parsed CSR's signature with its own key (proof of possession). Throws VerifyError. */
export async function verifyCertificationRequestSignature(csr: ParsedCertificationRequest, platform: Platform): Promise<void> {
  let ok: boolean
  try {
    ok = await verifyX509Signature(csr.algorithm.scheme, csr.publicKey, csr.signed, csr.signature, platform)
  } catch (e) {
    // a key the crypto provider cannot import (e.g. an EC point off the curve)
    throw new X509Error('ERR_X509_MALFORMED', 'csr: the public key cannot be used for verification', { cause: e })
  }
  if (!ok) throw new X509Error('ERR_X509_SIGNATURE_INVALID', 'csr: signature does not verify with its own public key')
}

/** Parses a DER CSR and verifies its signature with its own key. Throws VerifyError. */
export async function verifyCertificationRequest(der: Uint8Array, platform: Platform): Promise<CertificationRequest> {
  const csr = parseCertificationRequest(der)
  await verifyCertificationRequestSignature(csr, platform)
  return { spki: csr.spki, publicKey: csr.publicKey }
}
