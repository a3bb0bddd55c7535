/**
 * The registration entries of GET /v1/entries (the server's entryJson view) as the agent keeps
 * them: each checked for shape and bounds, its SPIFFE ID in the agent's trust domain. A malformed
 * entry is skipped (and named), never fatal: the others still get their SVIDs.
 */
import { isVerifyError, VerifyError } from '../../core/errors.ts'
import { parseSpiffeId } from '../../core/svid/spiffe-id.ts'
import type { WorkloadEntry } from './source.ts'

/** the server's own bounds (server/entries/validate.ts) */
export const MAX_ENTRY_SELECTORS = 32
export const MAX_ENTRY_DNS_NAMES = 32
const MAX_ID_LENGTH = 128
const MAX_STRING_LENGTH = 2048

export interface ParsedEntries {
  readonly entries: WorkloadEntry[]
  /** what was skipped and why (no secrets: entry IDs and field names) */
  readonly skipped: string[]
  /** entries beyond the agent's bound, not kept */
  readonly dropped: number
}

const isString = (v: unknown, max = MAX_STRING_LENGTH): v is string => typeof v === 'string' && v !== '' && v.length <= max

function stringList(v: unknown, max: number): string[] | undefined {
  if (v === undefined || v === null) return []
  if (!Array.isArray(v) || v.length > max || !v.every((s) => isString(s))) return undefined
  return v as string[]
}

function ttl(v: unknown): number | null | undefined {
  if (v === undefined || v === null) return null
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : undefined
}

function parseEntry(raw: unknown, trustDomain: string): WorkloadEntry | string {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return 'not an object'
  const e = raw as Record<string, unknown>
  if (!isString(e.id, MAX_ID_LENGTH)) return 'id: expected a string'
  const where = `entry ${e.id}`
  if (!isString(e.spiffeId)) return `${where}: spiffeId: expected a string`
  try {
    if (parseSpiffeId(e.spiffeId).trustDomain.name !== trustDomain) return `${where}: spiffeId is not in trust domain ${trustDomain}`
  } catch (err) {
    if (!isVerifyError(err)) throw err
    return `${where}: spiffeId: ${err.message}`
  }
  const selectors = stringList(e.selectors, MAX_ENTRY_SELECTORS)
  if (!selectors || selectors.length === 0) return `${where}: selectors: expected 1..${MAX_ENTRY_SELECTORS} strings`
  const dnsNames = stringList(e.dnsNames, MAX_ENTRY_DNS_NAMES)
  if (!dnsNames) return `${where}: dnsNames: expected at most ${MAX_ENTRY_DNS_NAMES} strings`
  const x509 = ttl(e.x509SvidTtl)
  const jwt = ttl(e.jwtSvidTtl)
  if (x509 === undefined) return `${where}: x509SvidTtl: expected a positive integer or null`
  if (jwt === undefined) return `${where}: jwtSvidTtl: expected a positive integer or null`
  return Object.freeze({
    id: e.id,
    spiffeId: e.spiffeId,
    selectors: Object.freeze([...selectors]),
    dnsNames: Object.freeze([...dnsNames]),
    ...(x509 === null ? {} : { x509SvidTtl: x509 }),
    ...(jwt === null ? {} : { jwtSvidTtl: jwt }),
  })
}

/** `body` is the /v1/entries answer, `{ entries: [...] }`; at most `max` entries are kept. Throws VerifyError ERR_ENTRY_INVALID when it is not that shape. */
export function parseEntries(body: unknown, trustDomain: string, max: number): ParsedEntries {
  const list = (body as { entries?: unknown } | null)?.entries
  if (!Array.isArray(list)) throw new VerifyError('ERR_ENTRY_INVALID', 'GET /v1/entries: expected { entries: [...] }')
  const entries: WorkloadEntry[] = []
  const skipped: string[] = []
  const seen = new Set<string>()
  let dropped = 0
  for (const raw of list) {
    const e = parseEntry(raw, trustDomain)
    if (typeof e === 'string') {
      if (skipped.length < 16) skipped.push(e)
      continue
    }
    if (seen.has(e.id)) continue
    if (entries.length >= max) {
      dropped++
      continue
    }
    seen.add(e.id)
    entries.push(e)
  }
  return { entries, skipped, dropped }
}

/** What an SVID depends on: a change in any of these needs a new certificate. */
export function x509Shape(e: WorkloadEntry): string {
  return JSON.stringify([e.spiffeId, e.x509SvidTtl ?? null, e.dnsNames])
}

export function sameEntry(a: WorkloadEntry, b: WorkloadEntry): boolean {
  return (
    x509Shape(a) === x509Shape(b) &&
    JSON.stringify([a.selectors, a.jwtSvidTtl ?? null]) === JSON.stringify([b.selectors, b.jwtSvidTtl ?? null])
  )
}
