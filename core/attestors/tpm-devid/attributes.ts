/**
 * tpm_devid attributes (the seed's table, issue 3) and SPIRE's tpm_devid selectors (protocol §2.4:
 * `subject:cn:`, `issuer:cn:`, `ca:fingerprint:` of every non-leaf certificate of the verified
 * chain, de-duplicated in first-seen order).
 */
import { addEkAttributes, type EkFacts, type Selector, serialHex } from '../../attestor/attributes.ts'
import type { Platform } from '../../platform.ts'
import type { Certificate } from '../../x509/certificate.ts'
import { certificateFingerprintSha1 } from '../../x509/fingerprint.ts'
import { commonName } from '../../x509/name.ts'

/** The attributes, in the seed's table order. The ek.* ones beyond public_hash need an EK certificate. */
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

export const TPM_DEVID_DEFAULT_SPIFFE_ID_TEMPLATE = '/agents/tpm-devid/{{tpm_devid.certificate.fingerprint}}'

/** The selector type (SPIRE's plugin name). */
export const TPM_DEVID_SELECTOR_TYPE = 'tpm_devid'

const HEX40 = /^[0-9a-f]{40}$/

/** A registration entry's `tpm_devid:` selector: `subject:cn:<name>`, `issuer:cn:<name>` or `ca:fingerprint:<sha1 hex>`. */
export function checkTpmDevidSelectorValue(value: string): string | undefined {
  for (const prefix of ['subject:cn:', 'issuer:cn:']) {
    if (value.startsWith(prefix)) return value.length === prefix.length ? `tpm_devid:${prefix} needs a common name` : undefined
  }
  if (value.startsWith('ca:fingerprint:'))
    return HEX40.test(value.slice(15)) ? undefined : 'tpm_devid:ca:fingerprint: needs 40 lowercase hex digits (SHA-1)'
  return 'tpm_devid selectors are subject:cn:<name>, issuer:cn:<name> or ca:fingerprint:<sha1 hex>'
}

/** The leaf certificate's attributes, then the EK's (prefix `tpm_devid.ek`). */
export async function tpmDevidAttributes(leaf: Certificate, ek: EkFacts, platform: Platform): Promise<Record<string, string>> {
  const out: Record<string, string> = {
    'tpm_devid.certificate.fingerprint': await certificateFingerprintSha1(leaf, platform),
    'tpm_devid.certificate.serial_number': serialHex(leaf.serialNumber),
  }
  const subject = commonName(leaf.subject)
  const issuer = commonName(leaf.issuer)
  if (subject !== undefined) out['tpm_devid.certificate.subject_cn'] = subject
  if (issuer !== undefined) out['tpm_devid.certificate.issuer_cn'] = issuer
  return addEkAttributes(out, 'tpm_devid.ek', ek)
}

/** SPIRE tpm_devid selectors from the leaf and the verified path (leaf first, anchor last). */
export async function tpmDevidSelectors(path: readonly Certificate[], platform: Platform): Promise<Selector[]> {
  const leaf = path[0]!
  const out: Selector[] = []
  const subject = commonName(leaf.subject)
  const issuer = commonName(leaf.issuer)
  if (subject) out.push({ type: TPM_DEVID_SELECTOR_TYPE, value: `subject:cn:${subject}` })
  if (issuer) out.push({ type: TPM_DEVID_SELECTOR_TYPE, value: `issuer:cn:${issuer}` })
  const seen = new Set<string>()
  for (const c of path.slice(1)) {
    const fp = await certificateFingerprintSha1(c, platform)
    if (seen.has(fp)) continue
    seen.add(fp)
    out.push({ type: TPM_DEVID_SELECTOR_TYPE, value: `ca:fingerprint:${fp}` })
  }
  return out
}
