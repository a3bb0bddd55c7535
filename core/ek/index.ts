export { checkEkCertificateProfile, parseTpmIdentity, type TpmIdentity } from './certificate.ts'
export { ekPublicHash, ekPublicHashOfKey } from './public-hash.ts'
