/**
 * The agent's workload identities, as the Workload API and SDS serve them (issue 15). The identity
 * manager (agent/workload/manager.ts) fills it from the server's /v1/entries and /v1/svid routes
 * over mTLS with the node SVID, and rotates every X.509-SVID at half its lifetime; the gRPC
 * servers (agent/workload/api/) only read it. Keys and certificates are DER bytes.
 */

/** A registration entry the agent is the parent of (the server's entryJson view). */
export interface WorkloadEntry {
  readonly id: string
  readonly spiffeId: string
  /** `unix:uid:1000`, `unix:gid:…`, `unix:path:…`, `unix:sha256:…`: all must match the caller */
  readonly selectors: readonly string[]
  readonly x509SvidTtl?: number
  readonly jwtSvidTtl?: number
  readonly dnsNames: readonly string[]
}

/** An entry's current X.509-SVID with its private key. */
export interface WorkloadX509Svid {
  readonly entry: WorkloadEntry
  /** leaf first, then intermediates up to (not including) a bundle root */
  readonly chain: readonly Uint8Array[]
  /** PKCS#8 DER, generated on the agent; never leaves the agent except to the matching workload */
  readonly privateKey: Uint8Array
  readonly notBefore: Date
  readonly notAfter: Date
}

/** A trust domain's bundle: X.509 authorities (DER) and JWT authorities (kid → SPKI DER). */
export interface WorkloadBundle {
  readonly trustDomain: string
  readonly x509Authorities: readonly Uint8Array[]
  readonly jwtAuthorities: ReadonlyMap<string, Uint8Array>
}

/** What changed, so open streams push only what their caller sees. */
export type WorkloadChange = 'svids' | 'bundles'

export interface WorkloadIdentitySource {
  /** the entries with a current X.509-SVID, in the server's order */
  x509Svids(): readonly WorkloadX509Svid[]
  /** the agent's own trust domain first, then federated bundles */
  bundles(): readonly WorkloadBundle[]
  /** a JWT-SVID for one entry (fetched from the server; cached until half its lifetime) */
  fetchJwtSvid(entryId: string, audience: readonly string[]): Promise<{ readonly spiffeId: string; readonly token: string }>
  /** called after every rotation or bundle change; returns the unsubscribe function */
  onChange(listener: (change: WorkloadChange) => void): () => void
}
