/**
 * TCG EK Credential Profile for TPM Family 2.0 (v2.5 §3.2) checks on a parsed EK certificate,
 * and the TPM identity (manufacturer, model, version) from its subjectAltName directoryName.
 *
 * Strict by default: basicConstraints present with cA FALSE; keyUsage present with keyEncipherment
 * (RSA EK) or keyAgreement (ECC EK) and neither keyCertSign nor cRLSign; extKeyUsage present with
 * tcg-kp-EKCertificate (2.23.133.8.1); a subjectAltName directoryName with tpmManufacturer,
 * tpmModel and tpmVersion (critical when the subject is empty). Each rule real vendor certificates
 * are known to break has a named tolerance (EK_PROFILE_TOLERANCES); nothing else is relaxed.
 */
import { toHex } from '../bytes/encoding.ts'
import { OID } from '../der/oid.ts'
import { X509Error } from '../errors.ts'
import type { Certificate } from '../x509/certificate.ts'
import { KEY_USAGE } from '../x509/extensions.ts'
import { commonName, formatName, nameAttributes, type Name } from '../x509/name.ts'

export interface TpmIdentity {
  /** tcg-at-tpmManufacturer (2.23.133.2.1), e.g. `id:4E544300` (Nuvoton) */
  readonly manufacturer: string
  /** tcg-at-tpmModel (2.23.133.2.2) */
  readonly model: string
  /** tcg-at-tpmVersion (2.23.133.2.3), e.g. `id:00070002` */
  readonly version: string
}

/**
 * Named relaxations of the EK profile, each off unless a policy lists it (docs/conformance.md
 * "EK and DevID profile tolerances" says which vendors need which).
 */
export type EkProfileTolerance =
  /** no extKeyUsage extension at all (GCE vTPM EK certificates from the "EK/AK CA") */
  | 'ek-missing-eku'
  /** no keyUsage extension at all */
  | 'ek-missing-key-usage'
  /** no basicConstraints extension at all (a present cA TRUE is never tolerated) */
  | 'ek-missing-basic-constraints'
  /** no subjectAltName directoryName with the TPM identity (GCE vTPM "EK/AK CA" certificates name the instance in the subject) */
  | 'ek-missing-tpm-identity'

export const EK_PROFILE_TOLERANCES: readonly EkProfileTolerance[] = Object.freeze([
  'ek-missing-eku',
  'ek-missing-key-usage',
  'ek-missing-basic-constraints',
  'ek-missing-tpm-identity',
])

export interface EkProfileOptions {
  /** relaxations to apply; unknown names are ignored (policy validation refuses them earlier) */
  readonly tolerate?: readonly string[]
}

export interface EkProfileResult {
  /** the TPM identity; absent only when `ek-missing-tpm-identity` was needed */
  readonly identity?: TpmIdentity
  /** the tolerances this certificate needed, in EK_PROFILE_TOLERANCES order */
  readonly tolerated: readonly EkProfileTolerance[]
}

/** `EK certificate (serial 0a1b, issuer CN=...)`: EK subjects are usually empty, so issuer and serial name it. */
export function describeEkCertificate(cert: Certificate): string {
  const cn = commonName(cert.issuer)
  return `EK certificate (serial ${toHex(cert.serialNumber)}, issuer ${cn !== undefined ? `CN=${cn}` : formatName(cert.issuer)})`
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
 * Evaluates the EK credential profile with the given tolerances. Returns the TPM identity and the
 * tolerances the certificate needed; throws X509Error ERR_X509_PROFILE naming the certificate and
 * the first violated rule (and the tolerance that would relax it, if any).
 */
export function evaluateEkCertificateProfile(cert: Certificate, options: EkProfileOptions = {}): EkProfileResult {
  const allowed = options.tolerate ?? []
  const tolerated: EkProfileTolerance[] = []
  const violation = (rule: string): never => {
    throw new X509Error('ERR_X509_PROFILE', `${describeEkCertificate(cert)}: ${rule}`, { detail: { certificate: 'ek' } })
  }
  const missing = (t: EkProfileTolerance, rule: string): void => {
    if (!allowed.includes(t)) violation(`${rule} (tolerance ${t} not enabled)`)
    tolerated.push(t)
  }
  if (cert.version !== 3) violation(`version ${cert.version}, expected 3`)

  if (cert.basicConstraints === undefined)
    missing('ek-missing-basic-constraints', 'has no basicConstraints; the EK profile requires cA FALSE')
  else if (cert.basicConstraints.cA) violation('basicConstraints cA is true; an EK certificate is not a CA')

  const ku = cert.keyUsage
  const rsa = cert.publicKey.kty === 'RSA'
  const need = rsa ? 'keyEncipherment (RSA EK)' : 'keyAgreement (ECC EK)'
  if (ku === undefined) missing('ek-missing-key-usage', `has no keyUsage; the EK profile requires ${need}`)
  else {
    if ((ku & (rsa ? KEY_USAGE.keyEncipherment : KEY_USAGE.keyAgreement)) === 0) violation(`keyUsage lacks ${need}`)
    if (ku & (KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign))
      violation('keyUsage asserts keyCertSign or cRLSign; an EK certificate is not a CA')
  }

  const eku = cert.extKeyUsage
  if (eku === undefined) missing('ek-missing-eku', 'has no extKeyUsage; the EK profile requires tcg-kp-EKCertificate (2.23.133.8.1)')
  else if (!eku.includes(OID.ekCertificate)) violation(`extKeyUsage ${eku.join(', ')} lacks tcg-kp-EKCertificate (2.23.133.8.1)`)

  const san = cert.extensions.find((e) => e.oid === OID.subjectAltName)
  if (san && cert.subject.rdns.length === 0 && !san.critical) violation('subject is empty but subjectAltName is not critical')
  const identity = parseTpmIdentity(cert)
  if (!identity) {
    if (cert.subject.rdns.length === 0) violation('has an empty subject and no subjectAltName directoryName with the TPM identity')
    missing(
      'ek-missing-tpm-identity',
      san
        ? 'subjectAltName has no directoryName with tpmManufacturer, tpmModel and tpmVersion (2.23.133.2.1-3)'
        : 'has no subjectAltName with the TPM manufacturer, model and version',
    )
  }
  // report in one fixed order, whatever order the rules ran in
  const ordered = EK_PROFILE_TOLERANCES.filter((t) => tolerated.includes(t))
  return identity ? { identity, tolerated: ordered } : { tolerated: ordered }
}

/**
 * The strict EK credential profile (no tolerance). Returns the TPM identity; throws X509Error
 * ERR_X509_PROFILE naming the certificate and the violated rule.
 */
export function checkEkCertificateProfile(cert: Certificate): TpmIdentity {
  return evaluateEkCertificateProfile(cert).identity!
}
