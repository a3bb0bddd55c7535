/**
 * TCG EK Credential Profile for TPM Family 2.0 (v2.5 §3.2) checks on a parsed EK certificate,
 * and the TPM identity (manufacturer, model, version) from its subjectAltName directoryName.
 */
import { OID } from '../der/oid.ts'
import { X509Error } from '../errors.ts'
import type { Certificate } from '../x509/certificate.ts'
import { KEY_USAGE } from '../x509/extensions.ts'
import { nameAttributes, type Name } from '../x509/name.ts'

export interface TpmIdentity {
  /** tcg-at-tpmManufacturer (2.23.133.2.1), e.g. `id:4E544300` (Nuvoton) */
  readonly manufacturer: string
  /** tcg-at-tpmModel (2.23.133.2.2) */
  readonly model: string
  /** tcg-at-tpmVersion (2.23.133.2.3), e.g. `id:00070002` */
  readonly version: string
}

function profileError(message: string): never {
  throw new X509Error('ERR_X509_PROFILE', `ek certificate: ${message}`)
}

function identityFrom(name: Name): TpmIdentity | undefined {
  const manufacturer = nameAttributes(name, OID.tpmManufacturer)[0]
  const model = nameAttributes(name, OID.tpmModel)[0]
  const version = nameAttributes(name, OID.tpmVersion)[0]
  if (manufacturer === undefined || model === undefined || version === undefined) return undefined
  return { manufacturer, model, version }
}

/**
 * The TPM identity in the subjectAltName directoryName: the three TCG attributes in one
 * multi-valued RDN or in separate RDNs, in any order, UTF8String or PrintableString. Undefined
 * when no directoryName carries all three.
 */
export function parseTpmIdentity(cert: Certificate): TpmIdentity | undefined {
  for (const n of cert.subjectAltName ?? []) {
    if (n.type !== 'directoryName') continue
    const id = identityFrom(n.name)
    if (id) return id
  }
  return undefined
}

/**
 * Checks the EK credential profile: a subjectAltName directoryName with the TPM identity (the
 * SAN critical when the subject is empty), EKU tcg-kp-EKCertificate (2.23.133.8.1) when an EKU is
 * present, not a CA, and a keyUsage (when present) with keyEncipherment for RSA or keyAgreement
 * for ECC EKs. Returns the TPM identity; throws X509Error ERR_X509_PROFILE.
 */
export function checkEkCertificateProfile(cert: Certificate): TpmIdentity {
  if (cert.version !== 3) profileError(`version ${cert.version}, expected 3`)
  if (cert.basicConstraints?.cA) profileError('basicConstraints cA is true; an EK certificate is not a CA')
  const san = cert.extensions.find((e) => e.oid === OID.subjectAltName)
  if (!san) profileError('no subjectAltName with the TPM manufacturer, model and version')
  if (cert.subject.rdns.length === 0 && !san.critical) profileError('subject is empty but subjectAltName is not critical')
  const identity = parseTpmIdentity(cert)
  if (!identity) profileError('subjectAltName has no directoryName with tpmManufacturer, tpmModel and tpmVersion (2.23.133.2.1-3)')
  if (cert.extKeyUsage && !cert.extKeyUsage.includes(OID.ekCertificate)) {
    profileError(`extKeyUsage ${cert.extKeyUsage.join(', ')} lacks tcg-kp-EKCertificate (2.23.133.8.1)`)
  }
  if (cert.keyUsage !== undefined) {
    const need = cert.publicKey.kty === 'RSA' ? KEY_USAGE.keyEncipherment : KEY_USAGE.keyAgreement
    if ((cert.keyUsage & need) === 0) {
      profileError(`keyUsage lacks ${cert.publicKey.kty === 'RSA' ? 'keyEncipherment (RSA EK)' : 'keyAgreement (ECC EK)'}`)
    }
  }
  return identity
}
