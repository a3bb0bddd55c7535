/**
 * Attestor types and the attribute keys each one can produce (issue 3 "Attributes"; the seed's
 * table). The keys are the placeholders a SPIFFE ID template may use; a template naming any
 * other key does not validate. They live in policy/ (policies name them); attestation/ produces
 * them and imports them from here, never the other way (docs/architecture.md).
 */

export const ATTESTOR_TYPES = ['tpm_devid', 'tpm_ek'] as const
export type AttestorType = (typeof ATTESTOR_TYPES)[number]

export function isAttestorType(x: unknown): x is AttestorType {
  return typeof x === 'string' && (ATTESTOR_TYPES as readonly string[]).includes(x)
}

/** tpm_devid attributes, in the seed's table order. The ek.* ones beyond public_hash need an EK certificate. */
export const TPM_DEVID_ATTRIBUTE_KEYS = [
  'tpm_devid.certificate.fingerprint',
  'tpm_devid.certificate.serial_number',
  'tpm_devid.certificate.subject_cn',
  'tpm_devid.certificate.issuer_cn',
  'tpm_devid.ek.public_hash',
  'tpm_devid.ek.serial_number',
  'tpm_devid.ek.manufacturer',
  'tpm_devid.ek.model',
  'tpm_devid.ek.version',
] as const

/** tpm_ek attributes: public_hash always, the rest only with an EK certificate. */
export const TPM_EK_ATTRIBUTE_KEYS = [
  'tpm_ek.public_hash',
  'tpm_ek.serial_number',
  'tpm_ek.manufacturer',
  'tpm_ek.model',
  'tpm_ek.version',
] as const

export const ATTRIBUTE_KEYS: Readonly<Record<AttestorType, readonly string[]>> = {
  tpm_devid: TPM_DEVID_ATTRIBUTE_KEYS,
  tpm_ek: TPM_EK_ATTRIBUTE_KEYS,
}

/** Default SPIFFE ID path template per attestor type. */
export const DEFAULT_SPIFFE_ID_TEMPLATES: Readonly<Record<AttestorType, string>> = {
  tpm_devid: '/agents/tpm-devid/{{tpm_devid.certificate.fingerprint}}',
  tpm_ek: '/agents/tpm-ek/{{tpm_ek.public_hash}}',
}

/**
 * Attributes of an attestor with a `boot` policy (core/attestation/boot.ts), known only once the
 * quote is answered: secure boot state, every quoted PCR value, the PK and db fingerprints.
 */
export function bootAttributeKeys(type: AttestorType): string[] {
  const p = `${type}.boot`
  const keys = [`${p}.secure_boot`, `${p}.pk.fingerprint`, `${p}.db.fingerprints`]
  for (const bank of ['sha1', 'sha256', 'sha384', 'sha512']) for (let i = 0; i < 24; i++) keys.push(`${p}.pcr.${bank}.${i}`)
  return keys
}
