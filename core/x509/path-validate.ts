/**
 * RFC 5280 §6.1 checks on one candidate path (leaf first, anchor last); signatures were checked
 * while the path was built. Anchors are trusted as given, but their validity, basicConstraints,
 * keyUsage, pathLen and name constraints are honoured when present (as OpenSSL and Go do).
 */
import { X509Error } from '../errors.ts'
import type { Certificate } from './certificate.ts'
import { KEY_USAGE, type Extension } from './extensions.ts'
import {
  constrainedNames,
  findNameConstraintViolation,
  isDnsName,
  isEmailConstraint,
  MAX_NAME_CONSTRAINT_CHECKS,
} from './name-constraints.ts'
import { commonName, formatName, namesEqual } from './name.ts'
import { OID } from '../der/oid.ts'
import { tolerates, type ToleranceOptions } from '../der/tolerance.ts'

export type ChainProfile = 'none' | 'ek' | 'devid'

/** Critical extensions a profile accepts although vouch does not process them. */
const PROFILE_ALLOWED_CRITICAL: Record<ChainProfile, readonly string[]> = {
  none: [],
  // TCG EK profile: a critical SAN that holds only a directoryName (SPIRE removes 2.5.29.17 from
  // Go's unhandled list); protocol §3 step 4, §3.1 item 8
  ek: [OID.subjectAltName],
  // TCG DevID: a critical SAN with only otherName hardwareModuleName / directoryName
  devid: [OID.subjectAltName],
}

/** `certificate at depth 1 (CN=...)`, for messages. */
export function describeCert(cert: Certificate, depth: number): string {
  const cn = commonName(cert.subject)
  return `certificate at depth ${depth} (${cn !== undefined ? `CN=${cn}` : formatName(cert.subject)})`
}

export function isSelfIssued(cert: Certificate): boolean {
  return namesEqual(cert.subject, cert.issuer)
}

function violated(message: string, depth: number): never {
  throw new X509Error('ERR_X509_CONSTRAINT_VIOLATED', message, { detail: { depth } })
}

/**
 * Validity at `at`, inclusive of notBefore and notAfter (RFC 5280 §4.1.2.5). UTCTime and
 * GeneralizedTime carry whole seconds, so `at` is compared at that granularity: a notAfter of
 * 00:00:00Z covers the whole second up to 00:00:00.999Z (x509-limbo `notafter-fractional`).
 */
export function checkValidity(cert: Certificate, at: number, depth: number): void {
  const second = Math.floor(at / 1000) * 1000
  if (second < cert.notBefore) {
    throw new X509Error(
      'ERR_X509_NOT_YET_VALID',
      `${describeCert(cert, depth)} is not valid before ${new Date(cert.notBefore).toISOString()}, checked at ${new Date(at).toISOString()}`,
      { detail: { depth } },
    )
  }
  if (second > cert.notAfter) {
    throw new X509Error(
      'ERR_X509_EXPIRED',
      `${describeCert(cert, depth)} expired at ${new Date(cert.notAfter).toISOString()}, checked at ${new Date(at).toISOString()}`,
      { detail: { depth } },
    )
  }
}

export function checkCriticalExtensions(cert: Certificate, depth: number, profile: ChainProfile): void {
  const allowed = PROFILE_ALLOWED_CRITICAL[profile]
  const unknown = cert.unhandledCriticalExtensions.filter((o) => !allowed.includes(o))
  if (unknown.length > 0) {
    throw new X509Error(
      'ERR_X509_UNKNOWN_CRITICAL_EXTENSION',
      `${describeCert(cert, depth)} has critical extension ${unknown.join(', ')} that is not processed`,
      { detail: { depth } },
    )
  }
}

/** An issuing certificate must be a CA (basicConstraints cA) allowed to sign certificates. */
export function checkIssuer(cert: Certificate, depth: number, isAnchor: boolean): void {
  const bc = cert.basicConstraints
  if (!bc || !bc.cA) {
    // a trust anchor without extensions (v1 root) is trusted as configured
    if (!(isAnchor && cert.version < 3))
      violated(`${describeCert(cert, depth)} issues certificates but is not a CA (basicConstraints cA is not true)`, depth)
  }
  if (cert.keyUsage !== undefined && (cert.keyUsage & KEY_USAGE.keyCertSign) === 0) {
    violated(`${describeCert(cert, depth)} issues certificates but its keyUsage lacks keyCertSign`, depth)
  }
}

function malformed(cert: Certificate, depth: number, rule: string): never {
  throw new X509Error('ERR_X509_MALFORMED', `${describeCert(cert, depth)} ${rule}`, { detail: { depth } })
}

function extension(cert: Certificate, oid: string): Extension | undefined {
  return cert.extensions.find((e) => e.oid === oid)
}

/**
 * The RFC 5280 §4 rules for conforming certificates that x509-limbo checks and that path
 * validation depends on. Named tolerances relax the ones real EK chains break.
 */

export function checkRfc5280Profile(cert: Certificate, depth: number, options?: ToleranceOptions, isAnchor = false): void {
  const isCa = cert.basicConstraints?.cA === true
  const selfSigned = isSelfIssued(cert)
  if (cert.issuer.rdns.length === 0) malformed(cert, depth, 'has an empty issuer name (RFC 5280 §4.1.2.4)')
  if (isCa && cert.subject.rdns.length === 0) malformed(cert, depth, 'is a CA with an empty subject name (RFC 5280 §4.1.2.6)')
  if (extension(cert, OID.authorityKeyIdentifier)?.critical)
    malformed(cert, depth, 'marks authorityKeyIdentifier critical (RFC 5280 §4.2.1.1)')
  if (extension(cert, OID.subjectKeyIdentifier)?.critical) malformed(cert, depth, 'marks subjectKeyIdentifier critical (RFC 5280 §4.2.1.2)')
  if (cert.subject.rdns.length === 0 && cert.subjectAltName && !extension(cert, OID.subjectAltName)?.critical) {
    malformed(cert, depth, 'has an empty subject and a non-critical subjectAltName (RFC 5280 §4.2.1.6)')
  }
  if (cert.keyUsage !== undefined && cert.keyUsage & KEY_USAGE.keyCertSign && !isCa) {
    malformed(cert, depth, 'asserts keyCertSign but is not a CA (RFC 5280 §4.2.1.3)')
  }
  if (cert.nameConstraints && !isCa) malformed(cert, depth, 'has nameConstraints but is not a CA (RFC 5280 §4.2.1.10)')
  if (cert.nameConstraints && !extension(cert, OID.nameConstraints)?.critical)
    malformed(cert, depth, 'marks nameConstraints non-critical (RFC 5280 §4.2.1.10)')
  if (!tolerates(options, 'missing-key-identifier') && cert.version === 3) {
    // the keyIdentifier is there to find the issuer; a trust anchor's issuer is never looked for
    if (!selfSigned && !isAnchor && !cert.authorityKeyIdentifier?.keyIdentifier) {
      malformed(cert, depth, 'lacks authorityKeyIdentifier keyIdentifier (RFC 5280 §4.2.1.1)')
    }
    if (isCa && !cert.subjectKeyIdentifier) malformed(cert, depth, 'is a CA without subjectKeyIdentifier (RFC 5280 §4.2.1.2)')
  }
  if (isCa && !extension(cert, OID.basicConstraints)?.critical && !tolerates(options, 'non-critical-basic-constraints')) {
    malformed(cert, depth, 'is a CA whose basicConstraints is not critical (RFC 5280 §4.2.1.9)')
  }
  if (cert.extensions.some((e) => e.oid === OID.policyConstraints && !e.critical))
    malformed(cert, depth, 'marks policyConstraints non-critical (RFC 5280 §4.2.1.11)')
  for (const n of cert.subjectAltName ?? []) {
    if (n.type === 'dNSName' && !isDnsName(n.value)) {
      malformed(cert, depth, `has subjectAltName dNSName "${n.value}" outside the preferred name syntax (RFC 5280 §4.2.1.6)`)
    }
  }
  for (const c of [...(cert.nameConstraints?.permitted ?? []), ...(cert.nameConstraints?.excluded ?? [])]) {
    if (c.type === 'dNSName' && c.value !== '' && !isDnsName(c.value, false)) {
      malformed(cert, depth, `has a dNSName name constraint "${c.value}" that is not a DNS name (RFC 5280 §4.2.1.10)`)
    }
    if (c.type === 'rfc822Name' && !isEmailConstraint(c.value)) {
      malformed(cert, depth, `has an rfc822Name name constraint "${c.value}" that is not a mailbox, host or domain (RFC 5280 §4.2.1.10)`)
    }
  }
  if (!tolerates(options, 'serial-number-range')) {
    const s = cert.serialNumber
    if (s.length > 20) malformed(cert, depth, `has a ${s.length}-octet serial number, more than 20 (RFC 5280 §4.1.2.2)`)
    if (s[0]! & 0x80) malformed(cert, depth, 'has a negative serial number (RFC 5280 §4.1.2.2)')
    if (s.every((b) => b === 0)) malformed(cert, depth, 'has serial number zero (RFC 5280 §4.1.2.2)')
  }
}

export interface PathValidationOptions extends ToleranceOptions {
  /** the purpose (EKU OID) every certificate with an extKeyUsage must allow; default any */
  readonly extKeyUsage?: string
}

/** `cert`'s extKeyUsage, when present, allows `purpose` (or anyExtendedKeyUsage). */
export function checkPurpose(cert: Certificate, depth: number, purpose: string): void {
  const have = cert.extKeyUsage
  if (have && !have.includes(purpose) && !have.includes(OID.anyExtendedKeyUsage)) {
    violated(`${describeCert(cert, depth)} has an extKeyUsage that does not allow ${purpose}`, depth)
  }
}

/** All §6.1 checks except signatures. Throws X509Error for the first violation. */
export function validatePath(path: readonly Certificate[], at: number, profile: ChainProfile, options?: PathValidationOptions): void {
  const n = path.length
  for (let i = 0; i < n; i++) {
    const cert = path[i]!
    checkRfc5280Profile(cert, i, options, i === n - 1)
    checkValidity(cert, at, i)
    checkCriticalExtensions(cert, i, profile)
    if (i > 0) checkIssuer(cert, i, i === n - 1)
    if (options?.extKeyUsage !== undefined) checkPurpose(cert, i, options.extKeyUsage)
  }
  // pathLenConstraint (§6.1.4 (l)(m)): from the anchor down, self-issued intermediates not counted
  let maxPathLength = Number.POSITIVE_INFINITY
  for (let i = n - 1; i >= 1; i--) {
    const cert = path[i]!
    if (i < n - 1 && !isSelfIssued(cert)) {
      if (maxPathLength <= 0) violated(`${describeCert(cert, i)} exceeds the pathLenConstraint of a certificate above it`, i)
      maxPathLength--
    }
    const pl = cert.basicConstraints?.pathLenConstraint
    if (pl !== undefined && pl < maxPathLength) maxPathLength = pl
  }
  // name constraints (§6.1.3 (b)(c)): a CA's subtrees apply to every certificate below it,
  // except self-issued intermediates. The work (names times subtrees) is bounded per path.
  let checks = 0
  for (let j = n - 1; j >= 1; j--) {
    const nc = path[j]!.nameConstraints
    if (!nc) continue
    const subtrees = (nc.permitted?.length ?? 0) + (nc.excluded?.length ?? 0)
    for (let i = j - 1; i >= 0; i--) {
      const cert = path[i]!
      if (i > 0 && isSelfIssued(cert)) continue
      const names = constrainedNames(cert)
      checks += names.length * subtrees
      if (checks > MAX_NAME_CONSTRAINT_CHECKS) {
        violated(
          `${describeCert(cert, i)}: checking its ${names.length} names against the ${subtrees} name constraints of ${describeCert(path[j]!, j)} exceeds the bound of ${MAX_NAME_CONSTRAINT_CHECKS} checks per path`,
          i,
        )
      }
      const why = findNameConstraintViolation(names, nc)
      if (why) violated(`${describeCert(cert, i)}: ${why} of name constraints in ${describeCert(path[j]!, j)}`, i)
    }
  }
}
