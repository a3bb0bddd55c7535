import { SpiffeError } from '../errors.ts'
import { isObject, parseJsonObject, typeName } from './json.ts'
import { parsePublicJwk, type PublicJwk } from './jwk.ts'
import type { JwtBundleSource } from './bundle-source.ts'
import { toTrustDomain } from './spiffe-id.ts'
import type { TrustDomain } from './trust-domain.ts'

/**
 * The JWT authorities of one trust domain: public keys by key ID (JWT-SVID.md §6, go-spiffe
 * `jwtbundle.Bundle`). Key IDs are unique; the map is read-only once built.
 */
export class JwtBundle implements JwtBundleSource {
  readonly trustDomain: TrustDomain
  readonly authorities: ReadonlyMap<string, PublicJwk>

  constructor(trustDomain: TrustDomain | string, authorities: Iterable<readonly [string, PublicJwk]> = []) {
    this.trustDomain = toTrustDomain(trustDomain)
    const map = new Map<string, PublicJwk>()
    for (const [kid, jwk] of authorities) {
      if (kid === '') throw new SpiffeError('ERR_BUNDLE_MALFORMED', 'a jwt authority needs a non-empty key id')
      if (map.has(kid)) throw new SpiffeError('ERR_BUNDLE_MALFORMED', `key id "${kid}" appears twice in the jwt authorities`)
      map.set(kid, jwk)
    }
    this.authorities = map
  }

  findAuthority(kid: string): PublicJwk | undefined {
    return this.authorities.get(kid)
  }

  getJwtBundle(td: TrustDomain): JwtBundle | undefined {
    return td.equals(this.trustDomain) ? this : undefined
  }
}

/**
 * A plain JWKS of JWT authorities (go-spiffe `jwtbundle.Parse`): every key with `use` absent, `sig`
 * or `jwt-svid` is an authority and needs a `kid`; keys with another `use` or an unusable `kty` are
 * skipped (SPIFFE_Trust_Domain_and_Bundle §4.2). For a full SPIFFE bundle use parseSpiffeBundle.
 */
export function parseJwtBundle(td: TrustDomain | string, json: string | Uint8Array): JwtBundle {
  const doc = parseJsonObject(json, 'jwks')
  if (!Array.isArray(doc.keys)) {
    throw new SpiffeError('ERR_BUNDLE_MALFORMED', `jwks: "keys" must be an array, found ${typeName(doc.keys)}`)
  }
  const entries: [string, PublicJwk][] = []
  doc.keys.forEach((k: unknown, i: number) => {
    const what = `jwks key ${i}`
    if (!isObject(k)) throw new SpiffeError('ERR_BUNDLE_MALFORMED', `${what}: expected an object, found ${typeName(k)}`)
    if (k.use !== undefined && k.use !== 'sig' && k.use !== 'jwt-svid') return
    const jwk = parsePublicJwk(k, what)
    if (!jwk) return
    if (typeof k.kid !== 'string' || k.kid === '')
      throw new SpiffeError('ERR_BUNDLE_MALFORMED', `${what}: a jwt authority needs a non-empty "kid"`)
    entries.push([k.kid, jwk])
  })
  return new JwtBundle(td, entries)
}

/** The bundle as a JWKS (`use: jwt-svid`, `kid` on every key). */
export function makeJwtBundleJson(bundle: JwtBundle): string {
  const keys = [...bundle.authorities].map(([kid, jwk]) => ({ use: 'jwt-svid', kid, ...jwk }))
  return JSON.stringify({ keys }, null, 2)
}
