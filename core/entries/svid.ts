// vouch/svid: SPIFFE IDs, trust domains, matchers, X.509 and JWT bundles, SPIFFE bundles and bundle
// sets, federation (bundle endpoints), X.509-SVID and JWT-SVID parsing and verification.
export { SpiffeId, parseSpiffeId, parseTrustDomain, spiffeIdFromPath, spiffeIdFromSegments } from '../svid/spiffe-id.ts'
export { TrustDomain } from '../svid/trust-domain.ts'
export { matchAny, matchId, matchOneOf, matchMemberOf, type SpiffeIdMatcher } from '../svid/match.ts'
export type { X509BundleSource, JwtBundleSource } from '../svid/bundle-source.ts'
export { X509Bundle, parseX509Bundle, makeX509BundlePem } from '../svid/x509-bundle.ts'
export { JwtBundle, parseJwtBundle, makeJwtBundleJson } from '../svid/jwt-bundle.ts'
export type { PublicJwk } from '../svid/jwk.ts'
export {
  SpiffeBundle,
  parseSpiffeBundle,
  parseBundleDocument,
  makeSpiffeBundleJson,
  type SpiffeBundleParts,
} from '../svid/spiffe-bundle.ts'
export { BundleSet } from '../svid/bundle-set.ts'
export { parseBundleMap, makeBundleMapJson } from '../svid/bundle-map.ts'
export {
  fetchBundle,
  BundleEndpointClient,
  type BundleEndpointProfile,
  type BundleEndpointClientOptions,
  type BundleFetcher,
  type BundleFetchRequest,
  type BundleFetchResponse,
  type FetchBundleOptions,
} from '../svid/federation.ts'
export {
  verifyX509Svid,
  parseX509Svid,
  spiffeIdFromCertificate,
  type VerifyX509SvidOptions,
  type X509Svid,
  type VerifiedX509Svid,
} from '../svid/x509-svid.ts'
export {
  verifyJwtSvid,
  parseJwtSvidUnverified,
  JWT_SVID_ALGORITHMS,
  type JwtSvid,
  type JwtSvidHeader,
  type JwtSvidAlgorithm,
  type VerifyJwtSvidOptions,
} from '../svid/jwt-svid.ts'
