/**
 * The names the SPIFFE Workload API puts on the wire (proto/workload.proto has no package, so
 * the service is `SpiffeWorkloadAPI`), and the metadata the SPIFFE Workload Endpoint spec requires.
 */

/** Every request carries this header with the value `true`; a server refuses calls without it. */
export const WORKLOAD_API_HEADER = 'workload.spiffe.io'
export const WORKLOAD_API_HEADER_VALUE = 'true'

export const GRPC_CONTENT_TYPE = 'application/grpc'

/** The HTTP/2 `:path` of each RPC. */
export const WorkloadApiMethod = {
  /** server stream of X509SVIDResponse */
  fetchX509Svid: '/SpiffeWorkloadAPI/FetchX509SVID',
  /** server stream of X509BundlesResponse */
  fetchX509Bundles: '/SpiffeWorkloadAPI/FetchX509Bundles',
  /** unary JWTSVIDRequest → JWTSVIDResponse */
  fetchJwtSvid: '/SpiffeWorkloadAPI/FetchJWTSVID',
  /** server stream of JWTBundlesResponse */
  fetchJwtBundles: '/SpiffeWorkloadAPI/FetchJWTBundles',
  /** unary ValidateJWTSVIDRequest → ValidateJWTSVIDResponse */
  validateJwtSvid: '/SpiffeWorkloadAPI/ValidateJWTSVID',
} as const
export type WorkloadApiMethod = (typeof WorkloadApiMethod)[keyof typeof WorkloadApiMethod]
