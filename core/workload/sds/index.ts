/**
 * Envoy SDS on the Workload API socket: codecs of DiscoveryRequest / DiscoveryResponse (with Node
 * and google.rpc.Status), google.protobuf.Any, and the Secret with its TlsCertificate,
 * CertificateValidationContext (with Envoy's SPIFFE certificate validator) and DataSource. Same contract as the Workload API codecs:
 * `decode*` return the message or throw `ERR_WORKLOAD_MALFORMED`; `encode*` omit proto3 defaults.
 */
export * from './any.ts'
export * from './data-source.ts'
export * from './discovery.ts'
export * from './secret.ts'
export * from './service.ts'
export * from './spiffe-validator.ts'
