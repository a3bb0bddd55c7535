/**
 * The DevID leaf certificate profile (IEEE 802.1AR; TCG "TPM 2.0 Keys for Device Identity and
 * Attestation" §8): the certificate of the key that signs the verifier's nonce.
 *
 * Strict by default: not a CA (basicConstraints absent or cA FALSE; keyUsage without keyCertSign
 * and cRLSign); keyUsage, when present, allows digitalSignature (the challenge is a signature);
 * extKeyUsage, when present, allows client authentication (id-kp-clientAuth or
 * anyExtendedKeyUsage) or a TCG DevID purpose (tcg-cap-verifiedTPMResidency,
 * tcg-cap-verifiedTPMFixed). The one rule a real DevID certificate is known to break has a named
 * tolerance (DEVID_PROFILE_TOLERANCES); being a CA or lacking digitalSignature is never relaxed.
 */
import { toHex } from '../bytes/encoding.ts'
import { OID } from '../der/oid.ts'
import { X509Error } from '../errors.ts'
import type { Certificate } from '../x509/certificate.ts'
import { KEY_USAGE } from '../x509/extensions.ts'
import { commonName, formatName } from '../x509/name.ts'

/** Named relaxations of the DevID profile, each off unless a policy lists it. */
export type DevIdProfileTolerance =
  /** an extKeyUsage with none of the accepted purposes, e.g. serverAuth only (the keylime/HPE test IDevID) */
  'devid-other-eku'

export const DEVID_PROFILE_TOLERANCES: readonly DevIdProfileTolerance[] = Object.freeze(['devid-other-eku'])

/** KeyPurposeIds a DevID leaf may carry: client authentication and the TCG DevID purposes (not tcg-cap-verifiedTPMRestricted: that is an IAK). */
export const DEVID_EKU_PURPOSES: readonly string[] = Object.freeze([
  OID.clientAuth,
  OID.anyExtendedKeyUsage,
  OID.verifiedTpmResidency,
  OID.verifiedTpmFixed,
])

export interface DevIdProfileOptions {
  /** relaxations to apply; unknown names are ignored (policy validation refuses them earlier) */
  readonly tolerate?: readonly string[]
}

export interface DevIdProfileResult {
  /** the tolerances this certificate needed */
  readonly tolerated: readonly DevIdProfileTolerance[]
}

/** `DevID certificate (CN=..., serial 0a1b)` */
export function describeDevIdCertificate(cert: Certificate): string {
  const cn = commonName(cert.subject)
  const name = cn !== undefined ? `CN=${cn}` : cert.subject.rdns.length > 0 ? formatName(cert.subject) : '(empty subject)'
  return `DevID certificate (${name}, serial ${toHex(cert.serialNumber)})`
}

/**
 * Evaluates the DevID leaf profile with the given tolerances. Returns the tolerances the
 * certificate needed; throws X509Error ERR_X509_PROFILE naming the certificate and the first
 * violated rule.
 */
export function evaluateDevIdCertificateProfile(cert: Certificate, options: DevIdProfileOptions = {}): DevIdProfileResult {
  const allowed = options.tolerate ?? []
  const violation = (rule: string): never => {
    throw new X509Error('ERR_X509_PROFILE', `${describeDevIdCertificate(cert)}: ${rule}`, { detail: { certificate: 'devid' } })
  }
  if (cert.basicConstraints?.cA) violation('basicConstraints cA is true; a DevID leaf is not a CA')
  const ku = cert.keyUsage
  if (ku !== undefined) {
    if (ku & (KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign)) violation('keyUsage asserts keyCertSign or cRLSign; a DevID leaf is not a CA')
    if ((ku & KEY_USAGE.digitalSignature) === 0) {
      violation('keyUsage lacks digitalSignature; the DevID key must sign the verifier nonce')
    }
  }
  const tolerated: DevIdProfileTolerance[] = []
  const eku = cert.extKeyUsage
  if (eku !== undefined && !eku.some((p) => DEVID_EKU_PURPOSES.includes(p))) {
    const rule = `extKeyUsage ${eku.join(', ')} allows neither client authentication nor a TCG DevID purpose`
    if (!allowed.includes('devid-other-eku')) violation(`${rule} (tolerance devid-other-eku not enabled)`)
    tolerated.push('devid-other-eku')
  }
  return { tolerated }
}

/** The strict DevID leaf profile (no tolerance); throws X509Error ERR_X509_PROFILE. */
export function checkDevIdCertificateProfile(cert: Certificate): void {
  evaluateDevIdCertificateProfile(cert)
}
