/**
 * The SPIFFE Workload API wire, shared by the agent's server (agent/workload/api/) and the client
 * (runtimes/workload/). Web platform APIs only.
 *
 * - Protobuf primitives: {@link ProtoReader} (bounded; errors are `ERR_WORKLOAD_MALFORMED`),
 *   {@link ProtoWriter}.
 * - Messages of proto/workload.proto, `decodeX` / `encodeX` for each: X509SVIDRequest,
 *   X509SVIDResponse, X509SVID, X509BundlesRequest, X509BundlesResponse, JWTSVIDRequest,
 *   JWTSVIDResponse, JWTSVID, JWTBundlesRequest, JWTBundlesResponse, ValidateJWTSVIDRequest,
 *   ValidateJWTSVIDResponse (claims: google.protobuf.Struct ⇄ JSON object).
 * - gRPC: {@link frameMessage} / {@link GrpcDeframer} (length-prefixed messages,
 *   `ERR_WORKLOAD_FRAME_INVALID`, `ERR_INPUT_TOO_LARGE`), {@link GrpcStatus},
 *   `grpc-status` / `grpc-message` helpers.
 * - The service's method paths and required metadata ({@link WorkloadApiMethod},
 *   {@link WORKLOAD_API_HEADER}).
 */
export * from './grpc-frame.ts'
export * from './grpc-status.ts'
export * from './jwt-svid.ts'
export * from './service.ts'
export * from './struct.ts'
export * from './wire.ts'
export * from './x509-svid.ts'
