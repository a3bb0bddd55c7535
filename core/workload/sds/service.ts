/**
 * Envoy's Secret Discovery Service (envoy/service/secret/v3/sds.proto) as the SPIRE agent serves it
 * on the Workload API socket: the gRPC method paths, the resource type, and SPIRE's default resource
 * names.
 */

export const SdsMethod = {
  /** bidirectional stream of DiscoveryRequest → DiscoveryResponse */
  streamSecrets: '/envoy.service.secret.v3.SecretDiscoveryService/StreamSecrets',
  /** unary DiscoveryRequest → DiscoveryResponse */
  fetchSecrets: '/envoy.service.secret.v3.SecretDiscoveryService/FetchSecrets',
  /** incremental xDS; not served (Unimplemented, as SPIRE answers) */
  deltaSecrets: '/envoy.service.secret.v3.SecretDiscoveryService/DeltaSecrets',
} as const

/** The type URL of every SDS resource (a google.protobuf.Any holding a Secret). */
export const SECRET_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret'

/** SPIRE's name for the workload's first (default) X.509-SVID. */
export const SDS_DEFAULT_SVID_NAME = 'default'
/** SPIRE's name for the validation context of the agent's own trust domain. */
export const SDS_DEFAULT_BUNDLE_NAME = 'ROOTCA'
/** SPIRE's name for a validation context that trusts every trust domain through the SPIFFE validator. */
export const SDS_ALL_BUNDLES_NAME = 'ALL'
