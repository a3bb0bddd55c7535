import { SpiffeError } from '../errors.ts'
import { SPIFFE_ID_EMPTY, SPIFFE_ID_WRONG_SCHEME, TRUST_DOMAIN_BAD_CHAR, TRUST_DOMAIN_MISSING } from '../messages.ts'
import { checkPath, joinPathSegments } from './path.ts'
import { TrustDomain, isTrustDomainChar } from './trust-domain.ts'

/**
 * SPIFFE IDs, SPIFFE-ID.md §2: `spiffe://<trust domain><path>`. The scheme prefix must be the
 * literal lowercase `spiffe://` (go-spiffe behaviour, §2.4 note in the checklist A14); the trust
 * domain runs to the first `/`; the rest is the path (path.ts). No query, fragment, userinfo or port
 * can pass, because `? # @ : %` are outside both character sets. Comparison is exact (§2.4).
 * go-spiffe's ordering of checks and messages is kept, so `spiffe://%21/x/` names the trust domain.
 */

const SCHEME_PREFIX = 'spiffe://'

function invalid(message: string): SpiffeError {
  return new SpiffeError('ERR_SPIFFE_ID_INVALID', message)
}

export class SpiffeId {
  readonly trustDomain: TrustDomain
  /** "" or `/seg/seg` */
  readonly path: string

  /** Throws a SpiffeError (ERR_SPIFFE_ID_INVALID) if `path` is not a valid SPIFFE ID path. */
  constructor(trustDomain: TrustDomain, path: string) {
    checkPath(path)
    this.trustDomain = trustDomain
    this.path = path
  }

  /** true when the path is empty (the trust domain's own ID) */
  isRoot(): boolean {
    return this.path === ''
  }

  memberOf(td: TrustDomain): boolean {
    return this.trustDomain.equals(td)
  }

  /** Exact comparison (§2.4: the path is case-sensitive; the trust domain is lowercase by §2.1). */
  equals(other: SpiffeId): boolean {
    return this.path === other.path && this.trustDomain.equals(other.trustDomain)
  }

  /** The path split into segments ([] for a root ID). */
  segments(): string[] {
    return this.path === '' ? [] : this.path.slice(1).split('/')
  }

  toString(): string {
    return `spiffe://${this.trustDomain.name}${this.path}`
  }

  toJSON(): string {
    return this.toString()
  }
}

/** Parses a SPIFFE ID string (go-spiffe `spiffeid.FromString`). */
export function parseSpiffeId(text: string): SpiffeId {
  if (typeof text !== 'string') throw new TypeError('parseSpiffeId expects a string')
  if (text === '') throw invalid(SPIFFE_ID_EMPTY)
  if (!text.startsWith(SCHEME_PREFIX)) throw invalid(SPIFFE_ID_WRONG_SCHEME)
  const rest = text.slice(SCHEME_PREFIX.length)
  let i = 0
  for (; i < rest.length; i++) {
    const c = rest.charCodeAt(i)
    if (c === 0x2f) break
    if (!isTrustDomainChar(c)) throw invalid(TRUST_DOMAIN_BAD_CHAR)
  }
  if (i === 0) throw invalid(TRUST_DOMAIN_MISSING)
  return new SpiffeId(new TrustDomain(rest.slice(0, i)), rest.slice(i))
}

/**
 * A trust domain from its name or from a SPIFFE ID (go-spiffe `TrustDomainFromString`): input with
 * `:/` is parsed as a whole ID (so `spiffe://td/` fails on its path), anything else as a name.
 */
export function parseTrustDomain(idOrName: string): TrustDomain {
  if (typeof idOrName !== 'string') throw new TypeError('parseTrustDomain expects a string')
  if (idOrName === '') throw invalid(TRUST_DOMAIN_MISSING)
  if (idOrName.includes(':/')) return parseSpiffeId(idOrName).trustDomain
  return new TrustDomain(idOrName)
}

/** The trust domain of a SPIFFE ID URI (go-spiffe `TrustDomainFromURI`): the whole URI must be a valid ID. */
export function trustDomainFromUri(uri: string): TrustDomain {
  return parseSpiffeId(uri).trustDomain
}

/** `spiffe://<td><path>`; `path` must be "" or start with `/` (go-spiffe `FromPath`). */
export function spiffeIdFromPath(td: TrustDomain, path: string): SpiffeId {
  return new SpiffeId(td, path)
}

/** `spiffe://<td>/seg1/seg2` (go-spiffe `FromSegments`). */
export function spiffeIdFromSegments(td: TrustDomain, segments: readonly string[]): SpiffeId {
  return new SpiffeId(td, joinPathSegments(segments))
}

/** An ID or a string, parsed if needed. */
export function toSpiffeId(id: SpiffeId | string): SpiffeId {
  return typeof id === 'string' ? parseSpiffeId(id) : id
}

/** A trust domain, or a name / ID string, parsed if needed. */
export function toTrustDomain(td: TrustDomain | string): TrustDomain {
  return typeof td === 'string' ? parseTrustDomain(td) : td
}
