import { SpiffeError } from '../errors.ts'
import { TRUST_DOMAIN_BAD_CHAR, TRUST_DOMAIN_MISSING } from '../messages.ts'

/**
 * A SPIFFE trust domain name, SPIFFE-ID.md §2.1: non-empty, characters `a-z 0-9 . - _` only (so
 * lowercase, no userinfo, port, IPv6 literal or percent-encoding). Names are compared exactly (an
 * IPv4 dotted quad is just a name, §2.1). Instances are always valid: the constructor checks.
 */

/** §2.1: `a-z 0-9 . - _` */
export function isTrustDomainChar(c: number): boolean {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f
}

/** Throws unless `name` is a valid trust domain name. */
export function checkTrustDomainName(name: string): void {
  if (name === '') throw new SpiffeError('ERR_SPIFFE_ID_INVALID', TRUST_DOMAIN_MISSING)
  for (let i = 0; i < name.length; i++) {
    if (!isTrustDomainChar(name.charCodeAt(i))) throw new SpiffeError('ERR_SPIFFE_ID_INVALID', TRUST_DOMAIN_BAD_CHAR)
  }
}

export class TrustDomain {
  readonly name: string

  /** Throws a SpiffeError (ERR_SPIFFE_ID_INVALID) for an invalid name; use parseTrustDomain for IDs too. */
  constructor(name: string) {
    checkTrustDomainName(name)
    this.name = name
  }

  /** The trust domain's own SPIFFE ID, `spiffe://<name>`. */
  idString(): string {
    return `spiffe://${this.name}`
  }

  equals(other: TrustDomain): boolean {
    return this.name === other.name
  }

  toString(): string {
    return this.name
  }

  toJSON(): string {
    return this.name
  }
}
