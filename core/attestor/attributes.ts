/**
 * What attestors' attributes and selectors are built from: the selector shape, serial numbers as
 * hex, and the EK attributes under a prefix (`<prefix>.public_hash`, ...). Each attestor makes its
 * own in its folder (core/attestors/<type>/attributes.ts).
 */
import type { TpmIdentity } from '../ek/certificate.ts'
import type { Certificate } from '../x509/certificate.ts'
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
export function addEkAttributes(out: Record<string, string>, prefix: string, ek: EkFacts): Record<string, string> {
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
