/** Certificate extensions (RFC 5280 §4.2) vouch parses, and which critical ones it processes. */
import { DerElement, DerReader, TAG, contextTag, derFail, parseDerElement } from '../der/reader.ts'
import { oidOf, OID } from '../der/oid.ts'
import { decodeBoolean, decodeNamedBits, decodeOctetString, decodeSmallInteger, decodeUnsigned } from '../der/values.ts'
import { tolerates, type ToleranceOptions } from '../der/tolerance.ts'
import { parseGeneralName, parseGeneralNames, type GeneralName } from './general-name.ts'

export interface Extension {
  /** dotted extnID */
  readonly oid: string
  readonly critical: boolean
  /** extnValue contents (the DER of the extension value) */
  readonly value: Uint8Array
}

export interface BasicConstraints {
  readonly cA: boolean
  readonly pathLenConstraint?: number
}

/** keyUsage bits (RFC 5280 §4.2.1.3), as a mask: bit n = 1 << n. */
export const KEY_USAGE = {
  digitalSignature: 1 << 0,
  nonRepudiation: 1 << 1,
  keyEncipherment: 1 << 2,
  dataEncipherment: 1 << 3,
  keyAgreement: 1 << 4,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
  encipherOnly: 1 << 7,
  decipherOnly: 1 << 8,
} as const

export interface AuthorityKeyIdentifier {
  readonly keyIdentifier?: Uint8Array
  readonly authorityCertIssuer?: readonly GeneralName[]
  readonly authorityCertSerialNumber?: Uint8Array
}

export interface NameConstraints {
  readonly permitted?: readonly GeneralName[]
  readonly excluded?: readonly GeneralName[]
}

export interface PolicyInformation {
  readonly policyIdentifier: string
}

export interface DirectoryAttribute {
  readonly type: string
  /** each value element (tag, length, contents) */
  readonly values: readonly Uint8Array[]
}

export interface ParsedExtensions {
  basicConstraints?: BasicConstraints
  keyUsage?: number
  extKeyUsage?: string[]
  subjectAltName?: GeneralName[]
  authorityKeyIdentifier?: AuthorityKeyIdentifier
  subjectKeyIdentifier?: Uint8Array
  nameConstraints?: NameConstraints
  certificatePolicies?: PolicyInformation[]
  subjectDirectoryAttributes?: DirectoryAttribute[]
}

function parseBasicConstraints(v: Uint8Array, o?: ToleranceOptions): BasicConstraints {
  const r = DerReader.sequence(parseDerElement(v, 'basicConstraints'), 'basicConstraints')
  let cA = false
  if (r.peekTag() === TAG.BOOLEAN) {
    const el = r.next('cA')
    cA = decodeBoolean(el, 'basicConstraints cA')
    if (!cA && !tolerates(o, 'explicit-default')) derFail('basicConstraints: cA FALSE is a DEFAULT and must be omitted in DER', el.offset)
  }
  let pathLenConstraint: number | undefined
  if (!r.done) pathLenConstraint = decodeSmallInteger(r.expect(TAG.INTEGER, 'pathLenConstraint'), 'pathLenConstraint', o)
  r.finish()
  return pathLenConstraint === undefined ? { cA } : { cA, pathLenConstraint }
}

function parseEku(v: Uint8Array): string[] {
  const r = DerReader.sequence(parseDerElement(v, 'extKeyUsage'), 'extKeyUsage')
  const out: string[] = []
  while (!r.done) {
    const el = r.expect(TAG.OID, 'KeyPurposeId')
    out.push(oidOf(el))
  }
  if (out.length === 0) derFail('extKeyUsage: empty sequence', 0)
  return out
}

function parseAki(v: Uint8Array, o?: ToleranceOptions): AuthorityKeyIdentifier {
  const r = DerReader.sequence(parseDerElement(v, 'authorityKeyIdentifier'), 'authorityKeyIdentifier')
  const out: { -readonly [K in keyof AuthorityKeyIdentifier]: AuthorityKeyIdentifier[K] } = {}
  const k = r.optional(contextTag(0, false), 'keyIdentifier')
  if (k) out.keyIdentifier = k.value
  const i = r.optional(contextTag(1, true), 'authorityCertIssuer')
  if (i) {
    const gr = DerReader.of(i, 'authorityCertIssuer')
    const names: GeneralName[] = []
    while (!gr.done) names.push(parseGeneralName(gr.next('GeneralName'), 'authorityCertIssuer', o))
    out.authorityCertIssuer = names
  }
  const s = r.optional(contextTag(2, false), 'authorityCertSerialNumber')
  if (s) out.authorityCertSerialNumber = s.value
  r.finish()
  return out
}

function parseSubtrees(el: ReturnType<DerReader['next']>, what: string, o?: ToleranceOptions): GeneralName[] {
  const r = DerReader.of(el, what)
  const out: GeneralName[] = []
  while (!r.done) {
    const sr = DerReader.sequence(r.next('GeneralSubtree'), `${what} GeneralSubtree`)
    out.push(parseGeneralName(sr.next('base'), `${what} base`, o))
    const min = sr.optional(contextTag(0, false), 'minimum')
    if (min) {
      const n = decodeUnsigned(new DerElement(TAG.INTEGER, min.offset, min.valueOffset, min.length, min.source), 'minimum', o)
      if (!(n.length === 1 && n[0] === 0)) derFail(`${what}: minimum must be 0 (RFC 5280 §4.2.1.10)`, min.offset)
      if (!tolerates(o, 'explicit-default')) derFail(`${what}: minimum 0 is a DEFAULT and must be omitted`, min.offset)
    }
    if (sr.optional(contextTag(1, false), 'maximum')) derFail(`${what}: maximum must be absent (RFC 5280 §4.2.1.10)`, el.offset)
    sr.finish()
  }
  if (out.length === 0) derFail(`${what}: empty GeneralSubtrees`, el.offset)
  return out
}

function parseNameConstraints(v: Uint8Array, o?: ToleranceOptions): NameConstraints {
  const r = DerReader.sequence(parseDerElement(v, 'nameConstraints'), 'nameConstraints')
  const out: { permitted?: GeneralName[]; excluded?: GeneralName[] } = {}
  const p = r.optional(contextTag(0, true), 'permittedSubtrees')
  if (p) out.permitted = parseSubtrees(p, 'permittedSubtrees', o)
  const e = r.optional(contextTag(1, true), 'excludedSubtrees')
  if (e) out.excluded = parseSubtrees(e, 'excludedSubtrees', o)
  r.finish()
  if (!p && !e) derFail('nameConstraints: neither permitted nor excluded subtrees (RFC 5280 §4.2.1.10)', 0)
  return out
}

function parsePolicies(v: Uint8Array): PolicyInformation[] {
  const r = DerReader.sequence(parseDerElement(v, 'certificatePolicies'), 'certificatePolicies')
  const out: PolicyInformation[] = []
  while (!r.done) {
    const pr = DerReader.sequence(r.next('PolicyInformation'), 'PolicyInformation')
    const id = pr.expect(TAG.OID, 'policyIdentifier')
    const policyIdentifier = oidOf(id)
    if (out.some((p) => p.policyIdentifier === policyIdentifier))
      derFail(`certificatePolicies: policy ${policyIdentifier} appears twice`, id.offset)
    pr.optional(TAG.SEQUENCE, 'policyQualifiers')
    pr.finish()
    out.push({ policyIdentifier })
  }
  if (out.length === 0) derFail('certificatePolicies: empty sequence', 0)
  return out
}

function parseSda(v: Uint8Array): DirectoryAttribute[] {
  const r = DerReader.sequence(parseDerElement(v, 'subjectDirectoryAttributes'), 'subjectDirectoryAttributes')
  const out: DirectoryAttribute[] = []
  while (!r.done) {
    const ar = DerReader.sequence(r.next('Attribute'), 'Attribute')
    const t = ar.expect(TAG.OID, 'type')
    const sr = DerReader.sequence(ar.next('values'), 'Attribute values', TAG.SET)
    const values: Uint8Array[] = []
    while (!sr.done) values.push(sr.next('value').tlv)
    ar.finish()
    out.push({ type: oidOf(t), values })
  }
  if (out.length === 0) derFail('subjectDirectoryAttributes: empty sequence', 0)
  return out
}

/**
 * Parses each known extension into `into`; returns the OIDs of critical extensions vouch does not act on
 * (it only records them). Like Go's crypto/x509, a critical subjectAltName holding none of dNSName, rfc822Name,
 * uniformResourceIdentifier or iPAddress (an EK SAN with only a directoryName) is "unhandled":
 * the `ek` profile of verifyChain allows it.
 */
export function parseKnownExtensions(list: readonly Extension[], into: ParsedExtensions, o?: ToleranceOptions): string[] {
  const unhandled: string[] = []
  for (const ext of list) {
    const v = ext.value
    switch (ext.oid) {
      case OID.basicConstraints:
        into.basicConstraints = parseBasicConstraints(v, o)
        break
      case OID.keyUsage:
        into.keyUsage = decodeNamedBits(parseDerElement(v, 'keyUsage'), 'keyUsage', o)
        if (into.keyUsage === 0) derFail('keyUsage: no bit set (RFC 5280 §4.2.1.3)', 0)
        break
      case OID.extKeyUsage:
        into.extKeyUsage = parseEku(v)
        break
      case OID.subjectAltName: {
        const names = parseGeneralNames(parseDerElement(v, 'subjectAltName'), 'subjectAltName', o)
        into.subjectAltName = names
        if (
          ext.critical &&
          !names.some((n) => n.type === 'dNSName' || n.type === 'rfc822Name' || n.type === 'uri' || n.type === 'iPAddress')
        ) {
          unhandled.push(ext.oid)
        }
        break
      }
      case OID.authorityKeyIdentifier:
        into.authorityKeyIdentifier = parseAki(v, o)
        break
      case OID.subjectKeyIdentifier:
        into.subjectKeyIdentifier = decodeOctetString(parseDerElement(v, 'subjectKeyIdentifier'), 'subjectKeyIdentifier')
        break
      case OID.nameConstraints:
        into.nameConstraints = parseNameConstraints(v, o)
        break
      case OID.certificatePolicies:
        into.certificatePolicies = parsePolicies(v)
        break
      case OID.subjectDirectoryAttributes:
        into.subjectDirectoryAttributes = parseSda(v)
        if (ext.critical) unhandled.push(ext.oid)
        break
      default:
        if (ext.critical) unhandled.push(ext.oid)
    }
  }
  return unhandled
}
