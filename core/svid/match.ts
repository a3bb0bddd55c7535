import { SpiffeError } from '../errors.ts'
import { toSpiffeId, toTrustDomain, type SpiffeId } from './spiffe-id.ts'
import type { TrustDomain } from './trust-domain.ts'

/**
 * Authorization of a verified SPIFFE ID (go-spiffe `spiffeid.Matcher`): a matcher returns normally
 * to allow and throws SpiffeError ERR_SVID_ID_NOT_ALLOWED to deny. Comparison is exact (no prefix
 * matching, SPIFFE-ID.md §2.4).
 */
export type SpiffeIdMatcher = (id: SpiffeId) => void

function deny(message: string, id: SpiffeId): never {
  throw new SpiffeError('ERR_SVID_ID_NOT_ALLOWED', message, { detail: { id: id.toString() } })
}

/** Allows every ID (the trust decision is then only "signed by the ID's own trust domain"). */
export function matchAny(): SpiffeIdMatcher {
  return () => {}
}

/** Allows exactly `expected`. */
export function matchId(expected: SpiffeId | string): SpiffeIdMatcher {
  const want = toSpiffeId(expected)
  return (id) => {
    if (!id.equals(want)) deny(`unexpected id "${id}": expected "${want}"`, id)
  }
}

/** Allows any of `expected`; an empty list allows nothing. */
export function matchOneOf(...expected: (SpiffeId | string)[]): SpiffeIdMatcher {
  const want = new Set(expected.map((e) => toSpiffeId(e).toString()))
  return (id) => {
    if (!want.has(id.toString())) deny(`unexpected id "${id}": expected one of ${want.size} allowed ids`, id)
  }
}

/** Allows every ID of trust domain `td`. */
export function matchMemberOf(td: TrustDomain | string): SpiffeIdMatcher {
  const want = toTrustDomain(td)
  return (id) => {
    if (!id.memberOf(want)) deny(`unexpected trust domain "${id.trustDomain}": expected "${want}"`, id)
  }
}
