// vouch/credential: TPM2_MakeCredential for RSA and ECC EKs (KDFa/KDFe, RSA-OAEP, AES-128-CFB, HMAC),
// the activated secret compared in constant time, and tpm2-tools' credential file format.
export { makeCredential, type MakeCredentialInput, type MakeCredentialOptions, type MadeCredential } from './make-credential.ts'
export { checkActivatedSecret } from './activation.ts'
export { kdfa, kdfe } from './kdf.ts'
export { credentialEkFromPublicKey, credentialEkFromTpmtPublic, type CredentialEk } from './ek.ts'
export { encodeCredentialFile, parseCredentialFile, type CredentialFile } from './credential-file.ts'
