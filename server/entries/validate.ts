/**
 * Registration entries (issue 15): which SPIFFE ID a workload gets, under which agent (its
 * parent), and which workload selectors the agent must observe. Validation is pure (no I/O):
 * every SPIFFE ID is in the server's trust domain, every selector has a known type and a value of
 * that type's shape, every list and string is bounded; each failure is a VerifyError with an
 * ERR_ENTRY_* code (or ERR_SPIFFE_ID_INVALID from the SPIFFE ID parser) whose message names the field.
 */
import { BUILTIN_ATTESTORS } from '../../core/attestors/registry.ts'
import { SpiffeError } from '../../core/errors.ts'
import { EntryError } from './errors.ts'
import { parseSpiffeId } from '../../core/svid/spiffe-id.ts'

export const MAX_SPIFFE_ID_LENGTH = 2048
export const MAX_SELECTOR_LENGTH = 256
/** workload selectors, and parent selectors, each */
export const MAX_SELECTORS = 32
export const MAX_DNS_NAMES = 32
export const MAX_DNS_NAME_LENGTH = 253
export const MAX_X509_TTL_SECONDS = 7 * 86_400
export const MAX_JWT_TTL_SECONDS = 86_400
export const MAX_ENTRIES_PER_PARENT = 1000
export const MAX_ENTRIES = 100_000

/** Workload selector types (what an agent observes of a process) and their value shapes. */
export const WORKLOAD_SELECTOR_TYPES = ['unix'] as const
/** Agent selector types, as the verifier's attestors produce them (each attestor's `selectorType`: SPIRE's names). */
export const AGENT_SELECTOR_TYPES: readonly string[] = [...new Set(BUILTIN_ATTESTORS.attestors.map((a) => a.selectorType))]

export interface EntryInput {
  readonly spiffeId: string
  /** an agent's SPIFFE ID; exactly one of parentId and parentSelectors */
  readonly parentId?: string
  /** agent selectors: the entry applies to every agent having all of them */
  readonly parentSelectors?: readonly string[]
  readonly selectors: readonly string[]
  readonly x509SvidTtlSeconds?: number
  readonly jwtSvidTtlSeconds?: number
  readonly dnsNames?: readonly string[]
}

/** A validated entry without its ID and creation time; selectors sorted and de-duplicated. */
export interface EntrySpec {
  readonly spiffeId: string
  readonly parentId: string | null
  readonly parentSelectors: readonly string[]
  readonly selectors: readonly string[]
  readonly x509SvidTtlSeconds: number | null
  readonly jwtSvidTtlSeconds: number | null
  readonly dnsNames: readonly string[]
}

export interface RegistrationEntry extends EntrySpec {
  readonly id: string
  /** ms since the epoch */
  readonly createdAt: number
}

function invalid(message: string): EntryError {
  return new EntryError('ERR_ENTRY_INVALID', message)
}

function badSelector(field: string, message: string): EntryError {
  return new EntryError('ERR_ENTRY_SELECTOR_INVALID', `${field}: ${message}`)
}

const UINT32 = /^(0|[1-9]\d{0,9})$/
const HEX64 = /^[0-9a-f]{64}$/

/** printable, no whitespace at either end, no control characters, well-formed Unicode */
function checkText(field: string, v: string): void {
  if (/[\u0000-\u001f\u007f]/.test(v)) throw badSelector(field, 'contains a control character')
  // PostgreSQL's text and JSON cannot hold one (the links of migration 8 read the selectors as JSON)
  if (/\p{Cs}/u.test(v)) throw badSelector(field, 'contains a lone surrogate (not well-formed Unicode)')
}

/** `unix:uid:N`, `unix:gid:N` (0..2^32-1), `unix:path:/abs`, `unix:sha256:<64 lowercase hex>` */
function checkUnixValue(field: string, value: string): void {
  const i = value.indexOf(':')
  const kind = i < 0 ? value : value.slice(0, i)
  const v = i < 0 ? '' : value.slice(i + 1)
  switch (kind) {
    case 'uid':
    case 'gid':
      if (!UINT32.test(v) || Number(v) > 0xffffffff)
        throw badSelector(field, `unix:${kind} needs a decimal id in 0..4294967295, found ${JSON.stringify(v)}`)
      return
    case 'path':
      if (!v.startsWith('/')) throw badSelector(field, `unix:path needs an absolute path, found ${JSON.stringify(v)}`)
      return
    case 'sha256':
      if (!HEX64.test(v)) throw badSelector(field, 'unix:sha256 needs 64 lowercase hex digits (SHA-256 of the executable)')
      return
    default:
      throw badSelector(field, `unknown unix selector ${JSON.stringify(kind)}; known: uid, gid, path, sha256`)
  }
}

/** An agent selector's value, as the attestor that produces selectors of `type` checks it (core/attestors/<type>/attributes.ts). */
function checkAgentValue(field: string, type: string, value: string): void {
  for (const a of BUILTIN_ATTESTORS.attestors) {
    if (a.selectorType !== type) continue
    const problem = a.checkSelectorValue(value)
    if (problem !== undefined) throw badSelector(field, problem)
    return
  }
}

/** Splits and checks one selector of `kind`; returns it unchanged (the canonical form is the text). */
export function checkSelector(field: string, text: unknown, kind: 'workload' | 'agent'): string {
  if (typeof text !== 'string') throw badSelector(field, 'expected a string type:value')
  if (text.length > MAX_SELECTOR_LENGTH) throw new EntryError('ERR_ENTRY_LIMIT', `${field}: longer than ${MAX_SELECTOR_LENGTH} characters`)
  checkText(field, text)
  const i = text.indexOf(':')
  if (i <= 0 || i === text.length - 1) throw badSelector(field, `expected type:value, found ${JSON.stringify(text)}`)
  const type = text.slice(0, i)
  const value = text.slice(i + 1)
  const known: readonly string[] = kind === 'workload' ? WORKLOAD_SELECTOR_TYPES : AGENT_SELECTOR_TYPES
  if (!known.includes(type))
    throw badSelector(field, `unknown ${kind} selector type ${JSON.stringify(type.slice(0, 40))}; known: ${known.join(', ')}`)
  if (kind === 'workload') checkUnixValue(field, value)
  else checkAgentValue(field, type, value)
  return text
}

function checkSelectors(field: string, list: unknown, kind: 'workload' | 'agent'): string[] {
  if (!Array.isArray(list)) throw invalid(`${field}: expected a list of selectors`)
  if (list.length > MAX_SELECTORS) throw new EntryError('ERR_ENTRY_LIMIT', `${field}: ${list.length} selectors, at most ${MAX_SELECTORS}`)
  const out = list.map((s, i) => checkSelector(`${field}[${i}]`, s, kind))
  return [...new Set(out)].sort()
}

/** A SPIFFE ID of the trust domain (not its root ID), bounded. */
export function checkSpiffeIdIn(field: string, text: unknown, trustDomain: string): string {
  if (typeof text !== 'string' || text === '') throw invalid(`${field}: expected a SPIFFE ID`)
  if (text.length > MAX_SPIFFE_ID_LENGTH)
    throw new EntryError('ERR_ENTRY_LIMIT', `${field}: longer than ${MAX_SPIFFE_ID_LENGTH} characters`)
  let id
  try {
    id = parseSpiffeId(text)
  } catch (e) {
    throw new SpiffeError('ERR_SPIFFE_ID_INVALID', `${field}: ${(e as Error).message}`)
  }
  if (id.trustDomain.name !== trustDomain)
    throw invalid(`${field}: ${JSON.stringify(text.slice(0, 200))} is not in trust domain ${JSON.stringify(trustDomain)}`)
  if (id.isRoot()) throw invalid(`${field}: the trust domain's own ID has no path; give a workload path`)
  return text
}

function checkTtl(field: string, v: unknown, max: number): number | null {
  if (v === undefined || v === null) return null
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1 || v > max)
    throw invalid(`${field}: expected whole seconds in 1..${max}, found ${JSON.stringify(v)}`)
  return v
}

const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/

function checkDnsName(field: string, v: unknown): string {
  if (typeof v !== 'string') throw invalid(`${field}: expected a DNS name`)
  if (v.length > MAX_DNS_NAME_LENGTH) throw new EntryError('ERR_ENTRY_LIMIT', `${field}: longer than ${MAX_DNS_NAME_LENGTH} characters`)
  const name = v.toLowerCase()
  const labels = name.split('.')
  const rest = labels[0] === '*' && labels.length > 2 ? labels.slice(1) : labels
  if (!rest.every((l) => DNS_LABEL.test(l)))
    throw invalid(
      `${field}: ${JSON.stringify(v.slice(0, 80))} is not a DNS name (letters, digits, '-', dot-separated labels; a leading '*.' wildcard)`,
    )
  return name
}

/** Validates an entry for `trustDomain`. Throws EntryError (ERR_ENTRY_*) or SpiffeError (ERR_SPIFFE_ID_INVALID). */
export function checkEntryInput(input: EntryInput, trustDomain: string): EntrySpec {
  if (typeof input !== 'object' || input === null) throw invalid('entry: expected an object')
  const spiffeId = checkSpiffeIdIn('spiffeId', input.spiffeId, trustDomain)
  const ps: unknown = input.parentSelectors
  if (ps !== undefined && ps !== null && !Array.isArray(ps)) throw invalid('parentSelectors: expected a list of agent selectors')
  const hasId = input.parentId !== undefined && input.parentId !== null
  const hasSelectors = Array.isArray(ps) && ps.length > 0
  if (hasId === hasSelectors) throw invalid('parent: give a parent SPIFFE ID or parent selectors, exactly one of the two')
  const parentId = hasId ? checkSpiffeIdIn('parentId', input.parentId, trustDomain) : null
  if (parentId === spiffeId) throw invalid('spiffeId: equals the parent ID; an entry names a workload under its agent')
  const parentSelectors = hasSelectors ? checkSelectors('parentSelectors', input.parentSelectors, 'agent') : []
  const selectors = checkSelectors('selectors', input.selectors, 'workload')
  if (selectors.length === 0) throw invalid('selectors: an entry needs at least one workload selector')
  // a program's path or hash says what runs, not who runs it: a process that connects and then execs
  // the named program would pass on them alone (docs/workload-api.md "Who may call")
  const names = (kind: string) => selectors.some((s) => s.startsWith(`unix:${kind}:`))
  if ((names('path') || names('sha256')) && !names('uid') && !names('gid'))
    throw invalid('selectors: unix:path and unix:sha256 name a program, not who runs it; add a unix:uid or unix:gid selector')
  const dns = input.dnsNames ?? []
  if (!Array.isArray(dns)) throw invalid('dnsNames: expected a list of DNS names')
  if (dns.length > MAX_DNS_NAMES) throw new EntryError('ERR_ENTRY_LIMIT', `dnsNames: ${dns.length} names, at most ${MAX_DNS_NAMES}`)
  const dnsNames = [...new Set(dns.map((d, i) => checkDnsName(`dnsNames[${i}]`, d)))]
  return {
    spiffeId,
    parentId,
    parentSelectors,
    selectors,
    x509SvidTtlSeconds: checkTtl('x509SvidTtl', input.x509SvidTtlSeconds, MAX_X509_TTL_SECONDS),
    jwtSvidTtlSeconds: checkTtl('jwtSvidTtl', input.jwtSvidTtlSeconds, MAX_JWT_TTL_SECONDS),
    dnsNames,
  }
}

/** True when the entry is parented to the agent: its exact SPIFFE ID, or all parent selectors among the agent's. */
export function isParentedTo(entry: EntrySpec, agentId: string, agentSelectors: ReadonlySet<string>): boolean {
  if (entry.parentId !== null) return entry.parentId === agentId
  return entry.parentSelectors.length > 0 && entry.parentSelectors.every((s) => agentSelectors.has(s))
}
