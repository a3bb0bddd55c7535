export {
  checkEkCertificateProfile,
  describeEkCertificate,
  EK_PROFILE_TOLERANCES,
  evaluateEkCertificateProfile,
  parseTpmIdentity,
  type EkProfileOptions,
  type EkProfileResult,
  type EkProfileTolerance,
  type TpmIdentity,
} from './certificate.ts'
export { ekPublicHash, ekPublicHashOfKey } from './public-hash.ts'
