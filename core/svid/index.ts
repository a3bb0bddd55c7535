// vouch/svid: SPIFFE IDs, trust domains, matchers, X.509 and JWT bundles, SPIFFE bundles and bundle
// sets, federation (bundle endpoints), X.509-SVID and JWT-SVID parsing and verification.
export { SpiffeId, parseSpiffeId, parseTrustDomain, spiffeIdFromPath, spiffeIdFromSegments } from './spiffe-id.ts'
export { TrustDomain } from './trust-domain.ts'
export { matchAny, matchId, matchOneOf, matchMemberOf, type SpiffeIdMatcher } from './match.ts'
export type { X509BundleSource, JwtBundleSource } from './bundle-source.ts'
export { X509Bundle, parseX509Bundle, makeX509BundlePem } from './x509-bundle.ts'
export { JwtBundle, parseJwtBundle, makeJwtBundleJson } from './jwt-bundle.ts'
export type { PublicJwk } from './jwk.ts'
export { SpiffeBundle, parseSpiffeBundle, parseBundleDocument, makeSpiffeBundleJson, type SpiffeBundleParts } from './spiffe-bundle.ts'
export { BundleSet } from './bundle-set.ts'
export { parseBundleMap, makeBundleMapJson } from './bundle-map.ts'
export {
  fetchBundle,
  BundleEndpointClient,
  type BundleEndpointProfile,
  type BundleEndpointClientOptions,
  type BundleFetcher,
  type BundleFetchRequest,
  type BundleFetchResponse,
  type FetchBundleOptions,
} from './federation.ts'
export {
  verifyX509Svid,
  parseX509Svid,
  spiffeIdFromCertificate,
  type VerifyX509SvidOptions,
  type X509Svid,
  type VerifiedX509Svid,
} from './x509-svid.ts'
export {
  verifyJwtSvid,
  parseJwtSvidUnverified,
  JWT_SVID_ALGORITHMS,
  type JwtSvid,
  type JwtSvidHeader,
  type JwtSvidAlgorithm,
  type VerifyJwtSvidOptions,
} from './jwt-svid.ts'
