// vouch/credential: TPM2_MakeCredential for RSA and ECC EKs (KDFa/KDFe, RSA-OAEP, AES-128-CFB, HMAC),
// the activated secret compared in constant time, and tpm2-tools' credential file format.
export { makeCredential, type MakeCredentialInput, type MakeCredentialOptions, type MadeCredential } from '../credential/make-credential.ts'
export { checkActivatedSecret } from '../credential/activation.ts'
export { kdfa, kdfe } from '../credential/kdf.ts'
export { credentialEkFromPublicKey, credentialEkFromTpmtPublic, type CredentialEk } from '../credential/ek.ts'
export { encodeCredentialFile, parseCredentialFile, type CredentialFile } from '../credential/credential-file.ts'
