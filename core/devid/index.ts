export {
  checkDevIdCertificateProfile,
  DEVID_EKU_PURPOSES,
  DEVID_PROFILE_TOLERANCES,
  describeDevIdCertificate,
  evaluateDevIdCertificateProfile,
  type DevIdProfileOptions,
  type DevIdProfileResult,
  type DevIdProfileTolerance,
} from './certificate.ts'
