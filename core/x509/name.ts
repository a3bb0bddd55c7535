/**
 * X.501 Name (RFC 5280 §4.1.2.4): RDNSequence of SET OF AttributeTypeAndValue, and the
 * comparison RFC 5280 §7.1 asks for when chaining (RFC 4518-style: case-insensitive, insignificant
 * spaces removed for string values; RDN attributes compared as sets).
 */
import { compareDerOrder, DerReader, TAG, type DerElement } from '../der/reader.ts'
import { oidOf, OID } from '../der/oid.ts'
import { decodeString } from '../der/values.ts'
import { tolerates, type ToleranceOptions } from '../der/tolerance.ts'
import { derFail } from '../der/reader.ts'
import { bytesEqual } from '../bytes/equal.ts'

export interface AttributeTypeAndValue {
  /** dotted OID */
  readonly type: string
  /** the value as text when it is a character string, else undefined */
  readonly value: string | undefined
  readonly valueTag: number
  /** the value element (tag, length, contents) */
  readonly rawValue: Uint8Array
}

export type RelativeDistinguishedName = readonly AttributeTypeAndValue[]

export interface Name {
  readonly rdns: readonly RelativeDistinguishedName[]
  /** the DER of the whole Name */
  readonly raw: Uint8Array
}

/**
 * Parses a Name element. A multi-valued RDN must be in DER SET order unless the tolerance
 * `unsorted-set` is given (Nuvoton EK certificates and roots).
 */
export function parseName(el: DerElement, what: string, options?: ToleranceOptions): Name {
  const r = DerReader.sequence(el, what)
  const rdns: RelativeDistinguishedName[] = []
  while (!r.done) {
    const setEl = r.next('RelativeDistinguishedName')
    const sr = DerReader.sequence(setEl, `${what} rdn`, TAG.SET)
    const atvs: AttributeTypeAndValue[] = []
    let prev: DerElement | undefined
    while (!sr.done) {
      const atvEl = sr.next('AttributeTypeAndValue')
      if (prev && compareDerOrder(prev.tlv, atvEl.tlv) > 0 && !tolerates(options, 'unsorted-set')) {
        derFail(`${what}: multi-valued RDN is not in DER SET order`, atvEl.offset)
      }
      prev = atvEl
      const ar = DerReader.sequence(atvEl, `${what} attribute`)
      const typeEl = ar.expect(TAG.OID, 'type')
      const valueEl = ar.next('value')
      ar.finish()
      atvs.push({
        type: oidOf(typeEl),
        value: decodeString(valueEl, `${what} attribute value`),
        valueTag: valueEl.tag,
        rawValue: valueEl.tlv,
      })
    }
    if (atvs.length === 0) derFail(`${what}: empty RelativeDistinguishedName`, setEl.offset)
    rdns.push(atvs)
  }
  return { rdns, raw: el.tlv }
}

/** RFC 4518 §2 simplified: case fold, trim, collapse inner spaces. */
function prepare(s: string): string {
  return s.normalize('NFKC').toLowerCase().trim().replace(/\s+/g, ' ')
}

/**
 * Prepared values by their text: the same issuer and subject names come back in every
 * certificate of a fleet. Bounded: cleared when full.
 */
const prepared = new Map<string, string>()
function preparedValue(atv: AttributeTypeAndValue & { value: string }): string {
  let p = prepared.get(atv.value)
  if (p === undefined) {
    p = prepare(atv.value)
    if (prepared.size >= 4096) prepared.clear()
    prepared.set(atv.value, p)
  }
  return p
}

function atvEqual(a: AttributeTypeAndValue, b: AttributeTypeAndValue): boolean {
  if (a.type !== b.type) return false
  // identical encodings are equal whatever the string type; otherwise compare prepared strings
  if (bytesEqual(a.rawValue, b.rawValue)) return true
  if (a.value !== undefined && b.value !== undefined)
    return preparedValue(a as typeof a & { value: string }) === preparedValue(b as typeof b & { value: string })
  return false
}

function rdnEqual(a: RelativeDistinguishedName, b: RelativeDistinguishedName): boolean {
  if (a.length !== b.length) return false
  // sets: each attribute of a has a match in b (sizes equal and values distinct in practice)
  return a.every((x) => b.some((y) => atvEqual(x, y)))
}

/** RFC 5280 §7.1 name matching: same number of RDNs, each RDN equal as a set. */
export function namesEqual(a: Name, b: Name): boolean {
  // byte-identical DER is the common case when chaining, and equal under any matching rule
  if (bytesEqual(a.raw, b.raw)) return true
  if (a.rdns.length !== b.rdns.length) return false
  for (let i = 0; i < a.rdns.length; i++) if (!rdnEqual(a.rdns[i]!, b.rdns[i]!)) return false
  return true
}

/** True when `prefix` is an RDN-wise prefix of `name` (directoryName constraints, RFC 5280 §4.2.1.10). */
export function nameHasPrefix(name: Name, prefix: Name): boolean {
  if (prefix.rdns.length > name.rdns.length) return false
  for (let i = 0; i < prefix.rdns.length; i++) if (!rdnEqual(prefix.rdns[i]!, name.rdns[i]!)) return false
  return true
}

/** Every value of attribute `oid`, in order. */
export function nameAttributes(name: Name, oid: string): string[] {
  const out: string[] = []
  for (const rdn of name.rdns) for (const atv of rdn) if (atv.type === oid && atv.value !== undefined) out.push(atv.value)
  return out
}

/** The last (most specific) commonName, or undefined. */
export function commonName(name: Name): string | undefined {
  const all = nameAttributes(name, OID.commonName)
  return all[all.length - 1]
}

export function isEmptyName(name: Name): boolean {
  return name.rdns.length === 0
}

const SHORT: Record<string, string> = {
  [OID.commonName]: 'CN',
  [OID.organizationName]: 'O',
  [OID.organizationalUnitName]: 'OU',
  [OID.countryName]: 'C',
  [OID.localityName]: 'L',
  [OID.stateOrProvinceName]: 'ST',
}

/** A short display form, e.g. `CN=Root,O=Example`; for messages, not for comparison. */
export function formatName(name: Name): string {
  if (name.rdns.length === 0) return '(empty)'
  return name.rdns.map((rdn) => rdn.map((a) => `${SHORT[a.type] ?? a.type}=${a.value ?? '#'}`).join('+')).join(',')
}
