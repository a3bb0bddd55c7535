/**
 * Name constraints (RFC 5280 §4.2.1.10, §6.1.3 (b)(c)) for dNSName, rfc822Name,
 * uniformResourceIdentifier, iPAddress and directoryName. Each CA's permitted and excluded
 * subtrees are checked against every certificate below it; checking each CA on its own is the
 * same as RFC 5280's running intersection/union.
 */
import { OID } from '../der/oid.ts'
import type { Certificate } from './certificate.ts'
import type { NameConstraints } from './extensions.ts'
import type { GeneralName } from './general-name.ts'
import { nameAttributes, nameHasPrefix } from './name.ts'

/**
 * Subjects and SANs times subtrees that one path may ask to compare (x509-limbo
 * `pathological::nc-dos-*`: 2048 names against 4097 subtrees); as Go bounds its comparisons.
 */
export const MAX_NAME_CONSTRAINT_CHECKS = 1 << 18

/**
 * A dNSName in the constraint's subtree (RFC 5280 §4.2.1.10: the name itself or any name with
 * labels added on the left). A constraint is a DNS name without a leading period (checked in
 * checkRfc5280Profile); the empty constraint matches every name.
 */
function dnsMatches(name: string, constraint: string): boolean {
  const n = name.toLowerCase().replace(/\.$/, '')
  const c = constraint.toLowerCase()
  if (c === '') return true
  return n === c || n.endsWith('.' + c)
}

/**
 * A wildcard SAN `*.base` stands for every name `label.base`: it meets an excluded subtree when
 * the subtree holds one of those (a constraint `label.base`, x509-limbo
 * `nc-forbids-dnsname-wildcard-san`, CVE-2025-61727) or contains `base` itself (dnsMatches).
 */
function wildcardMeetsExcluded(name: string, constraint: string): boolean {
  if (!name.startsWith('*.')) return false
  const base = name.slice(2).toLowerCase().replace(/\.$/, '')
  const c = constraint.toLowerCase()
  const dot = c.indexOf('.')
  return dot > 0 && c.slice(dot + 1) === base
}

function emailMatches(mailbox: string, constraint: string): boolean {
  const at = mailbox.lastIndexOf('@')
  if (at < 0) return false
  const host = mailbox.slice(at + 1).toLowerCase()
  if (constraint.includes('@')) {
    const cat = constraint.lastIndexOf('@')
    return mailbox.slice(0, at) === constraint.slice(0, cat) && host === constraint.slice(cat + 1).toLowerCase()
  }
  const c = constraint.toLowerCase()
  if (c.startsWith('.')) return host.endsWith(c)
  return host === c
}

/** The host of a URI with an authority, or undefined (e.g. `urn:`). */
export function uriHost(uri: string): string | undefined {
  const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(uri)
  if (!m) return undefined
  let auth = m[1]!
  const at = auth.lastIndexOf('@')
  if (at >= 0) auth = auth.slice(at + 1)
  if (auth.startsWith('[')) return auth.slice(0, auth.indexOf(']') + 1) || undefined
  const colon = auth.indexOf(':')
  if (colon >= 0) auth = auth.slice(0, colon)
  return auth === '' ? undefined : auth
}

function uriMatches(uri: string, constraint: string): boolean {
  const host = uriHost(uri)
  if (host === undefined) return false
  const h = host.toLowerCase()
  const c = constraint.toLowerCase()
  if (c.startsWith('.')) return h.endsWith(c)
  return h === c
}

function ipMatches(ip: Uint8Array, constraint: Uint8Array): boolean {
  if (constraint.length !== ip.length * 2) return false
  for (let i = 0; i < ip.length; i++) {
    const mask = constraint[ip.length + i]!
    if ((ip[i]! & mask) !== (constraint[i]! & mask)) return false
  }
  return true
}

/** undefined when the two names are of different types (the constraint does not apply). */
function matches(name: GeneralName, c: GeneralName): boolean | undefined {
  if (name.type !== c.type) return undefined
  switch (name.type) {
    case 'dNSName':
      return dnsMatches(name.value, (c as typeof name).value)
    case 'rfc822Name':
      return emailMatches(name.value, (c as typeof name).value)
    case 'uri':
      return uriMatches(name.value, (c as typeof name).value)
    case 'iPAddress':
      return ipMatches(name.bytes, (c as typeof name).bytes)
    case 'directoryName':
      return nameHasPrefix(name.name, (c as typeof name).name)
    default:
      return undefined
  }
}

/** The names of `cert` that name constraints apply to: subject DN, subject emailAddress, SAN. */
export function constrainedNames(cert: Certificate): GeneralName[] {
  const out: GeneralName[] = []
  if (cert.subject.rdns.length > 0) out.push({ type: 'directoryName', name: cert.subject })
  for (const email of nameAttributes(cert.subject, OID.emailAddress)) out.push({ type: 'rfc822Name', value: email })
  for (const n of cert.subjectAltName ?? []) out.push(n)
  return out
}

/** The first name of `names` that violates `nc`, with the reason, or undefined. */
export function findNameConstraintViolation(names: readonly GeneralName[], nc: NameConstraints): string | undefined {
  const dnsConstrained = [...(nc.permitted ?? []), ...(nc.excluded ?? [])].some((c) => c.type === 'dNSName')
  const emailConstrained = [...(nc.permitted ?? []), ...(nc.excluded ?? [])].some((c) => c.type === 'rfc822Name')
  const otherNameConstrained = [...(nc.permitted ?? []), ...(nc.excluded ?? [])].some((c) => c.type === 'otherName')
  for (const name of names) {
    if (name.type === 'dNSName' && dnsConstrained && !isDnsName(name.value)) return `${describe(name)} is not a valid DNS name`
    if (name.type === 'rfc822Name' && emailConstrained && !isMailbox(name.value)) return `${describe(name)} is not a valid mailbox`
    // RFC 5280 §4.2.1.10: a name form under constraint is processed or the certificate rejected;
    // otherName forms are not processed (x509-limbo `nc-forbids-othername`)
    if (name.type === 'otherName' && otherNameConstrained)
      return `${describe(name)} is under otherName constraints, which are not processed`
    for (const c of nc.excluded ?? []) {
      if (matches(name, c) === true) return `${describe(name)} is in an excluded subtree`
      if (name.type === 'dNSName' && c.type === 'dNSName' && wildcardMeetsExcluded(name.value, c.value)) {
        return `${describe(name)} covers the excluded subtree "${c.value}"`
      }
    }
    const permitted = (nc.permitted ?? []).filter((c) => c.type === name.type)
    if (permitted.length > 0 && !permitted.some((c) => matches(name, c) === true)) {
      return `${describe(name)} is outside the permitted subtrees`
    }
  }
  return undefined
}

/**
 * Preferred name syntax (RFC 1034 §3.5 as relaxed by RFC 1123: letters, digits and hyphens, no
 * underscore), with an optional leading `*.` label when `wildcard`.
 */
export function isDnsName(s: string, wildcard = true): boolean {
  const labels = (wildcard ? s.replace(/^\*\./, '') : s).split('.')
  return s.length <= 253 && labels.every((l) => /^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/.test(l))
}

/** `local@host`: one `@`, a non-empty local part, a host in preferred name syntax. */
export function isMailbox(s: string): boolean {
  const at = s.indexOf('@')
  return at > 0 && at === s.lastIndexOf('@') && isDnsName(s.slice(at + 1), false)
}

/** An rfc822Name constraint (RFC 5280 §4.2.1.10): a mailbox, a host, or `.domain` for any host in it. */
export function isEmailConstraint(s: string): boolean {
  if (s.includes('@')) return isMailbox(s)
  return isDnsName(s.startsWith('.') ? s.slice(1) : s, false)
}

function describe(n: GeneralName): string {
  switch (n.type) {
    case 'dNSName':
    case 'rfc822Name':
    case 'uri':
      return `${n.type} "${n.value}"`
    case 'iPAddress':
      return `iPAddress ${Array.from(n.bytes).join('.')}`
    case 'otherName':
      return `otherName ${n.typeId}`
    default:
      return n.type
  }
}
