export { parseCertificate, type Certificate, type ParseCertificateOptions } from './certificate.ts'
export { parseSubjectPublicKeyInfo, encodeSubjectPublicKeyInfo, curveFieldSize } from './spki.ts'
export {
  parseName,
  namesEqual,
  nameHasPrefix,
  nameAttributes,
  commonName,
  formatName,
  isEmptyName,
  type Name,
  type AttributeTypeAndValue,
  type RelativeDistinguishedName,
} from './name.ts'
export {
  parseSignatureAlgorithm,
  verifyCertificateSignature,
  verifyX509Signature,
  schemeMatchesKey,
  type SignatureAlgorithm,
} from './signature.ts'
export {
  KEY_USAGE,
  type Extension,
  type BasicConstraints,
  type AuthorityKeyIdentifier,
  type NameConstraints,
  type PolicyInformation,
  type DirectoryAttribute,
} from './extensions.ts'
export type { GeneralName } from './general-name.ts'
export {
  verifyChain,
  type VerifyChainInput,
  type VerifyChainOptions,
  type VerifiedChain,
  type CertificateInput,
  type ChainProfile,
  type VerifiedSignatureCache,
} from './verify.ts'
export { fingerprintSha1, fingerprintSha256 } from './fingerprint.ts'
export {
  makeCertificate,
  keyIdentifier,
  encodeKeyUsage,
  type CertificateTemplate,
  type CertificateSigner,
  type WebCryptoKey,
  type MakeCertificateOptions,
  type NameInput,
  type NameAttributeInput,
  type SubjectAltNameInput,
  type KeyUsageName,
  type RawExtension,
} from './make-certificate.ts'
export { createVerifiedSignatureCache } from './verified-cache.ts'
