import type { TrustDomain } from './trust-domain.ts'
import type { JwtBundle } from './jwt-bundle.ts'
import type { X509Bundle } from './x509-bundle.ts'

/**
 * Where verifiers find the authorities of a trust domain (go-spiffe `x509bundle.Source` /
 * `jwtbundle.Source`). A single bundle answers only for its own trust domain, a BundleSet for each
 * of its members; there is deliberately no "all roots" pool (X509-SVID §5, checklist A15/D1).
 */
export interface X509BundleSource {
  getX509Bundle(td: TrustDomain): X509Bundle | undefined
}

export interface JwtBundleSource {
  getJwtBundle(td: TrustDomain): JwtBundle | undefined
}
