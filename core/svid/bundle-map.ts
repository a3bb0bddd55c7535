import { SpiffeError } from '../errors.ts'
import { BundleSet } from './bundle-set.ts'
import { isObject, parseJsonObject, typeName } from './json.ts'
import { makeSpiffeBundleJson, spiffeBundleFromObject } from './spiffe-bundle.ts'
import { TrustDomain } from './trust-domain.ts'

/**
 * The SPIFFE bundle map, SPIFFE_Trust_Domain_and_Bundle.md §5.1.1:
 * `{"trust_domains": {"<trust domain name>": <SPIFFE bundle>, ...}}`. `trust_domains` must be
 * present (it may be empty), every key must be a valid trust domain name (not an ID), and a key
 * that appears twice rejects the whole map (the strict JSON parser detects it, checklist D12).
 * Each bundle keeps its own spiffe_refresh_hint; the map as a whole has no refresh behaviour (D13).
 */
export function parseBundleMap(json: string | Uint8Array): BundleSet {
  const doc = parseJsonObject(json, 'bundle map')
  const tds = doc.trust_domains
  if (!isObject(tds)) throw new SpiffeError('ERR_BUNDLE_MALFORMED', `bundle map: "trust_domains" must be an object, found ${typeName(tds)}`)
  const set = new BundleSet()
  for (const [name, bundle] of Object.entries(tds)) {
    let td: TrustDomain
    try {
      td = new TrustDomain(name)
    } catch (e) {
      throw new SpiffeError(
        'ERR_BUNDLE_MALFORMED',
        `bundle map: key ${JSON.stringify(name.slice(0, 300))} is not a trust domain name: ${(e as Error).message}`,
      )
    }
    if (!isObject(bundle)) throw new SpiffeError('ERR_BUNDLE_MALFORMED', `bundle map: the bundle of "${name}" must be an object`)
    try {
      set.set(spiffeBundleFromObject(td, bundle))
    } catch (e) {
      if (e instanceof SpiffeError) throw new SpiffeError(e.code, `bundle map: trust domain "${name}": ${e.message}`, { cause: e })
      throw e
    }
  }
  return set
}

/** The set as a bundle map document. */
export function makeBundleMapJson(set: BundleSet): string {
  const members = [...set].map((b) => `${JSON.stringify(b.trustDomain.name)}:${makeSpiffeBundleJson(b)}`)
  return `{"trust_domains":{${members.join(',')}}}`
}
