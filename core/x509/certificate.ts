/**
 * X.509 v3 certificate parsing (RFC 5280 §4.1) with a hand DER walker: the TBS bytes are kept
 * exactly as signed, names, validity, key and the extensions vouch uses are decoded once.
 */
import { bytesEqual } from '../bytes/equal.ts'
import type { PublicKey } from '../crypto/provider.ts'
import { DerReader, TAG, contextTag, derFail, parseDerElement } from '../der/reader.ts'
import { oidOf } from '../der/oid.ts'
import { decodeBitString, decodeBoolean, decodeIntegerBytes, decodeOctetString, decodeSmallInteger, decodeTime } from '../der/values.ts'
import { tolerates, type Tolerance } from '../der/tolerance.ts'
import { VerifyError, X509Error } from '../errors.ts'
import { parseSignatureAlgorithm, type SignatureAlgorithm } from './algorithm.ts'
import { parseKnownExtensions, type Extension, type ParsedExtensions } from './extensions.ts'
import { parseName, type Name } from './name.ts'
import { parseSpkiElement } from './spki.ts'

export interface ParseCertificateOptions {
  /** named leniencies (see core/der/tolerance.ts); none by default */
  readonly tolerate?: readonly Tolerance[]
  /** same as tolerating `trailing-data`: ignore bytes after the certificate (EK NV padding) */
  readonly allowTrailingData?: boolean
}

export interface Certificate extends Readonly<ParsedExtensions> {
  /** the certificate DER (without any tolerated trailer) */
  readonly raw: Uint8Array
  /** the exact tbsCertificate bytes the signature covers */
  readonly tbsRaw: Uint8Array
  /** 1, 2 or 3 */
  readonly version: number
  /** serialNumber contents octets (two's complement, as encoded) */
  readonly serialNumber: Uint8Array
  readonly signatureAlgorithm: SignatureAlgorithm
  /** signatureValue bits (DER Ecdsa-Sig-Value for ECDSA) */
  readonly signature: Uint8Array
  readonly issuer: Name
  readonly subject: Name
  readonly issuerRaw: Uint8Array
  readonly subjectRaw: Uint8Array
  /** ms since the epoch; validity is inclusive of both bounds */
  readonly notBefore: number
  readonly notAfter: number
  /** the SubjectPublicKeyInfo DER */
  readonly spki: Uint8Array
  readonly publicKey: PublicKey
  readonly extensions: readonly Extension[]
  /** OIDs of critical extensions vouch does not process */
  readonly unhandledCriticalExtensions: readonly string[]
}

function parseExtensionList(el: ReturnType<DerReader['next']>, options: ParseCertificateOptions): Extension[] {
  const outer = DerReader.of(el, 'extensions')
  const r = DerReader.sequence(outer.next('Extensions'), 'extensions')
  outer.finish()
  const list: Extension[] = []
  const seen = new Set<string>()
  while (!r.done) {
    const er = DerReader.sequence(r.next('Extension'), 'extension')
    const idEl = er.expect(TAG.OID, 'extnID')
    const oid = oidOf(idEl)
    let critical = false
    const c = er.optional(TAG.BOOLEAN, 'critical')
    if (c) {
      critical = decodeBoolean(c, `extension ${oid} critical`)
      if (!critical && !tolerates(options, 'explicit-default')) {
        derFail(`extension ${oid}: critical FALSE is a DEFAULT and must be omitted in DER`, c.offset)
      }
    }
    const value = decodeOctetString(er.next('extnValue'), `extension ${oid} extnValue`)
    er.finish()
    if (seen.has(oid)) throw new X509Error('ERR_X509_MALFORMED', `extension ${oid} appears more than once (RFC 5280 §4.2)`)
    seen.add(oid)
    list.push({ oid, critical, value })
  }
  if (list.length === 0) derFail('extensions: empty sequence (SIZE 1..MAX)', el.offset)
  return list
}

function parse(der: Uint8Array, options: ParseCertificateOptions): Certificate {
  const trailing = options.allowTrailingData === true || tolerates(options, 'trailing-data')
  const certEl = parseDerElement(der, 'certificate', trailing)
  const cr = DerReader.sequence(certEl, 'certificate')
  const tbsEl = cr.expect(TAG.SEQUENCE, 'tbsCertificate')
  const outerAlgEl = cr.expect(TAG.SEQUENCE, 'signatureAlgorithm')
  const sigBits = decodeBitString(cr.next('signatureValue'), 'signatureValue')
  cr.finish()
  if (sigBits.unusedBits !== 0) derFail('signatureValue: unused bits in a signature', 0)

  const t = DerReader.of(tbsEl, 'tbsCertificate')
  let version = 1
  const vEl = t.optional(contextTag(0, true), 'version')
  if (vEl) {
    const vr = DerReader.of(vEl, 'version')
    const v = decodeSmallInteger(vr.expect(TAG.INTEGER, 'version'), 'version')
    vr.finish()
    if (v > 2) throw new X509Error('ERR_X509_MALFORMED', `certificate version ${v + 1} is unknown, expected 1..3`)
    if (v === 0 && !tolerates(options, 'explicit-default')) derFail('version: v1 is a DEFAULT and must be omitted in DER', vEl.offset)
    version = v + 1
  }
  const serialNumber = decodeIntegerBytes(t.expect(TAG.INTEGER, 'serialNumber'), 'serialNumber', options)
  const innerAlgEl = t.expect(TAG.SEQUENCE, 'signature')
  if (!bytesEqual(innerAlgEl.tlv, outerAlgEl.tlv)) {
    throw new X509Error('ERR_X509_MALFORMED', 'tbsCertificate signature algorithm differs from signatureAlgorithm (RFC 5280 §4.1.1.2)')
  }
  const signatureAlgorithm = parseSignatureAlgorithm(outerAlgEl, 'signatureAlgorithm', options)
  const issuerEl = t.expect(TAG.SEQUENCE, 'issuer')
  const issuer = parseName(issuerEl, 'issuer', options)
  const vr = DerReader.sequence(t.next('validity'), 'validity')
  const notBefore = decodeTime(vr.next('notBefore'), 'notBefore', options)
  const notAfter = decodeTime(vr.next('notAfter'), 'notAfter', options)
  vr.finish()
  const subjectEl = t.expect(TAG.SEQUENCE, 'subject')
  const subject = parseName(subjectEl, 'subject', options)
  const spkiEl = t.expect(TAG.SEQUENCE, 'subjectPublicKeyInfo')
  const publicKey = parseSpkiElement(spkiEl)
  if (t.optional(contextTag(1, false), 'issuerUniqueID') && version < 2) derFail('issuerUniqueID in a v1 certificate', 0)
  if (t.optional(contextTag(2, false), 'subjectUniqueID') && version < 2) derFail('subjectUniqueID in a v1 certificate', 0)
  const extEl = t.optional(contextTag(3, true), 'extensions')
  t.finish()
  let extensions: Extension[] = []
  const parsed: ParsedExtensions = {}
  let unhandled: string[] = []
  if (extEl) {
    if (version !== 3) throw new X509Error('ERR_X509_MALFORMED', `extensions in a version ${version} certificate`)
    extensions = parseExtensionList(extEl, options)
    unhandled = parseKnownExtensions(extensions, parsed, options)
  }
  return {
    raw: certEl.tlv,
    tbsRaw: tbsEl.tlv,
    version,
    serialNumber,
    signatureAlgorithm,
    signature: sigBits.bytes,
    issuer,
    subject,
    issuerRaw: issuerEl.tlv,
    subjectRaw: subjectEl.tlv,
    notBefore,
    notAfter,
    spki: spkiEl.tlv,
    publicKey,
    extensions,
    unhandledCriticalExtensions: unhandled,
    ...parsed,
  }
}

/**
 * Parses one DER certificate. Strict by default; `options.tolerate` lists named leniencies.
 * Throws VerifyError (DerError for encoding faults, X509Error otherwise), never anything else.
 */
export function parseCertificate(der: Uint8Array, options: ParseCertificateOptions = {}): Certificate {
  try {
    return parse(der, options)
  } catch (e) {
    if (e instanceof VerifyError) throw e
    throw new X509Error('ERR_X509_MALFORMED', 'certificate does not parse', { cause: e })
  }
}
