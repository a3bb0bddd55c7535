import type { JwtBundleSource, X509BundleSource } from './bundle-source.ts'
import type { JwtBundle } from './jwt-bundle.ts'
import type { SpiffeBundle } from './spiffe-bundle.ts'
import { toTrustDomain } from './spiffe-id.ts'
import type { TrustDomain } from './trust-domain.ts'
import type { X509Bundle } from './x509-bundle.ts'

/**
 * Bundles keyed by trust domain, for federation (SPIFFE_Trust_Domain_and_Bundle.md §3, §5:
 * keep the trust-domain <-> bundle binding). Lookups return only the bundle of the asked trust
 * domain, never a pool across trust domains (checklist A15, D1).
 */
export class BundleSet implements X509BundleSource, JwtBundleSource {
  private readonly map = new Map<string, SpiffeBundle>()

  constructor(bundles: Iterable<SpiffeBundle> = []) {
    for (const b of bundles) this.set(b)
  }

  /** Adds or replaces the bundle of `bundle.trustDomain`. */
  set(bundle: SpiffeBundle): this {
    this.map.set(bundle.trustDomain.name, bundle)
    return this
  }

  get(td: TrustDomain | string): SpiffeBundle | undefined {
    return this.map.get(toTrustDomain(td).name)
  }

  has(td: TrustDomain | string): boolean {
    return this.map.has(toTrustDomain(td).name)
  }

  delete(td: TrustDomain | string): boolean {
    return this.map.delete(toTrustDomain(td).name)
  }

  get size(): number {
    return this.map.size
  }

  trustDomains(): TrustDomain[] {
    return [...this.map.values()].map((b) => b.trustDomain)
  }

  [Symbol.iterator](): IterableIterator<SpiffeBundle> {
    return this.map.values()
  }

  getX509Bundle(td: TrustDomain): X509Bundle | undefined {
    return this.map.get(td.name)?.x509
  }

  getJwtBundle(td: TrustDomain): JwtBundle | undefined {
    return this.map.get(td.name)?.jwt
  }
}
