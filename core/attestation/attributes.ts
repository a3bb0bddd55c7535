/**
 * Agent attributes (the seed's table, issue 3) and SPIRE-compatible selectors (protocol §2.4 for
 * tpm_devid: `subject:cn:`, `issuer:cn:`, `ca:fingerprint:` of every non-leaf certificate of the
 * verified chain, de-duplicated in first-seen order; §10 for SPIRE's EK-only `tpm` plugin:
 * `pub_hash:`).
 */
import type { TpmIdentity } from '../ek/certificate.ts'
import type { Platform } from '../platform.ts'
import type { Certificate } from '../x509/certificate.ts'
import { certificateFingerprintSha1 } from '../x509/fingerprint.ts'
import { commonName } from '../x509/name.ts'
import { serialNumberHex } from '../x509/path-validate.ts'

export interface Selector {
  readonly type: string
  readonly value: string
}

/** Serial number as lowercase hex of its value: leading 00 octets dropped (big-endian, as Go's big.Int prints it padded to bytes). */
export const serialHex = serialNumberHex

export interface EkFacts {
  /** lowercase hex SHA-256 of the EK SubjectPublicKeyInfo DER */
  readonly publicHash: string
  readonly certificate?: Certificate
  readonly identity?: TpmIdentity
}

/** The attribute names under one prefix, built once (property keys made per call are interned each time). */
interface EkAttributeKeys {
  readonly publicHash: string
  readonly serialNumber: string
  readonly manufacturer: string
  readonly model: string
  readonly version: string
}
const ekKeysByPrefix = new Map<string, EkAttributeKeys>()
function ekAttributeKeys(prefix: string): EkAttributeKeys {
  let keys = ekKeysByPrefix.get(prefix)
  if (keys === undefined) {
    keys = {
      publicHash: `${prefix}.public_hash`,
      serialNumber: `${prefix}.serial_number`,
      manufacturer: `${prefix}.manufacturer`,
      model: `${prefix}.model`,
      version: `${prefix}.version`,
    }
    ekKeysByPrefix.set(prefix, keys)
  }
  return keys
}

/** Adds `<prefix>.public_hash`, and with a certificate `serial_number`, and with the TPM identity manufacturer/model/version, to `out`. */
function addEkAttributes(out: Record<string, string>, prefix: string, ek: EkFacts): Record<string, string> {
  const keys = ekAttributeKeys(prefix)
  out[keys.publicHash] = ek.publicHash
  if (ek.certificate) out[keys.serialNumber] = serialHex(ek.certificate.serialNumber)
  if (ek.identity) {
    out[keys.manufacturer] = ek.identity.manufacturer
    out[keys.model] = ek.identity.model
    out[keys.version] = ek.identity.version
  }
  return out
}

/** `<prefix>.public_hash`, and with a certificate `serial_number`, and with the TPM identity manufacturer/model/version. */
export function ekAttributes(prefix: string, ek: EkFacts): Record<string, string> {
  return addEkAttributes({}, prefix, ek)
}

/** tpm_devid attributes: the leaf certificate's, then the EK's (prefix `tpm_devid.ek`). */
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
  if (subject) out.push({ type: 'tpm_devid', value: `subject:cn:${subject}` })
  if (issuer) out.push({ type: 'tpm_devid', value: `issuer:cn:${issuer}` })
  const seen = new Set<string>()
  for (const c of path.slice(1)) {
    const fp = await certificateFingerprintSha1(c, platform)
    if (seen.has(fp)) continue
    seen.add(fp)
    out.push({ type: 'tpm_devid', value: `ca:fingerprint:${fp}` })
  }
  return out
}

/** SPIRE's EK-only plugin selector: type `tpm`, value `pub_hash:<hash>`. */
export function tpmEkSelectors(publicHash: string): Selector[] {
  return [{ type: 'tpm', value: `pub_hash:${publicHash}` }]
}
