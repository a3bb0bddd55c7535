/**
 * A PKCS#10 certification request builder (RFC 2986 §4): the subject, the key's
 * SubjectPublicKeyInfo and no attributes, signed with the private key itself. The signature is the
 * proof of possession a CA checks (server/ca/csr.ts) before it certifies the key.
 */
import { encodeBitString, encodeName, encodeSequence, encodeSmallInteger, type NameInput } from './der-encode.ts'
import { type CertificateSigner, type MakeCertificateOptions, signerFor, type WebCryptoKey } from './make-certificate.ts'

/** `[0] IMPLICIT SET OF Attribute`, empty */
const NO_ATTRIBUTES = Uint8Array.of(0xa0, 0x00)

/**
 * Makes a CSR for `spki` (SubjectPublicKeyInfo DER) signed by its private key (a Web Crypto key,
 * or a {@link CertificateSigner} such as a TPM key); returns its DER.
 */
export async function makeCertificationRequest(
  subject: NameInput,
  spki: Uint8Array,
  privateKey: WebCryptoKey | CertificateSigner,
  options: MakeCertificateOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const signer =
    typeof (privateKey as CertificateSigner).sign === 'function'
      ? (privateKey as CertificateSigner)
      : signerFor(privateKey as WebCryptoKey, options)
  const info = encodeSequence(encodeSmallInteger(0), encodeName(subject), spki, NO_ATTRIBUTES)
  return encodeSequence(info, signer.algorithmIdentifier, encodeBitString(await signer.sign(info)))
}
