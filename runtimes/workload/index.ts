/**
 * `vouch/workload`: a SPIFFE Workload API client for Node and Bun (docs/workload-client.md).
 *
 * - sources: {@link createX509Source}, {@link createJwtSource}, {@link createBundleSource}
 *   (and their classes), which watch the Workload API streams and hand what they receive to
 *   vouch's verifiers;
 * - node:tls: {@link tlsServerOptions}, {@link tlsClientOptions}, {@link createTlsServer},
 *   {@link connectTls}, {@link verifyTlsPeer};
 * - the raw client: {@link WorkloadApiClient} and the endpoint parser.
 */
export {
  WorkloadApiClient,
  grpcStatusOf,
  statusError,
  type CallStatus,
  type StreamCall,
  type StreamHandlers,
  type WorkloadApiClientOptions,
} from './client.ts'
export { ENDPOINT_ENV, parseWorkloadEndpoint, resolveWorkloadEndpoint, type WorkloadEndpoint } from './endpoint.ts'
export {
  BundleSource,
  JwtSource,
  X509Source,
  createBundleSource,
  createJwtSource,
  createX509Source,
  type FetchedJwtSvid,
  type SourceOptions,
} from './sources.ts'
export {
  connectTls,
  createTlsServer,
  identityContextOptions,
  peerChain,
  tlsClientOptions,
  tlsServerOptions,
  verifyTlsPeer,
  type TlsHelperOptions,
  type TlsIdentitySource,
  type VerifiedConnection,
} from './tls.ts'
export {
  checkJwtBundlesResponse,
  checkX509BundlesResponse,
  checkX509SvidResponse,
  privateKeyMatches,
  splitCertificates,
  type WorkloadX509Svid,
  type X509Update,
} from './updates.ts'
export type { BackoffOptions } from './watch.ts'
export { GrpcStatus, type GrpcStatusCode } from '../../core/workload/grpc-status.ts'
export { matchAny, matchId, matchMemberOf, matchOneOf, type SpiffeIdMatcher } from '../../core/svid/match.ts'
