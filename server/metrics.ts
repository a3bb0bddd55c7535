/**
 * Prometheus text exposition (format 0.0.4): vouch_attestation_proofs_total{attestor_type,outcome},
 * vouch_attestation_duration_seconds (histogram), vouch_sessions_active, vouch_svids_issued_total,
 * vouch_rate_limited_total{scope};
 * once a policy is set: vouch_policy_generation, vouch_policy_info{sha256}, vouch_policy_reload_failures_total;
 * once certificates are set: vouch_ca_expiry_timestamp_seconds, vouch_tls_certificate_expiry_timestamp_seconds,
 * vouch_bundle_sequence.
 *
 * Label values come from fixed sets only: a known attestor type (or `unknown` when the server
 * lost track of the session) and a known outcome; anything else, such as a name an agent made up
 * in providedMethods, is counted as `other`. The number of series is therefore fixed.
 */
import { ATTESTOR_TYPES } from '../core/policy/attribute-keys.ts'

export const METRIC_ATTESTOR_TYPES: ReadonlySet<string> = new Set<string>([...ATTESTOR_TYPES, 'unknown'])
export const METRIC_OUTCOMES: ReadonlySet<string> = new Set(['success', 'failure', 'error', 'unknown_session', 'banned', 'rate_limited'])
export const METRIC_RATE_LIMIT_SCOPES: ReadonlySet<string> = new Set(['address', 'identity'])

/** `v` when it is in `known`, else `other`. */
export function metricLabel(v: string, known: ReadonlySet<string>): string {
  return known.has(v) ? v : 'other'
}
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

export class Metrics {
  private readonly proofs = new Map<string, number>()
  private readonly buckets = new Array<number>(DURATION_BUCKETS.length).fill(0)
  private durationSum = 0
  private durationCount = 0
  private readonly rateLimited = new Map<string, number>()
  svidsIssued = 0
  /** the applied policy document (server/entry/policy-reload.ts) */
  policy: (() => { generation: number; sha256: string; failures: number }) | undefined
  /** the server CA's and listener's expiry (ms) and the bundle's sequence (server/entry/bootstrap.ts) */
  certificates: (() => { caNotAfter: number; tlsNotAfter?: number; bundleSequence: bigint }) | undefined

  /** one attestor's proof: an outcome of METRIC_OUTCOMES; unknown types and outcomes count as `other` */
  countProof(attestorType: string, outcome: string): void {
    const type = metricLabel(attestorType, METRIC_ATTESTOR_TYPES)
    const key = `attestor_type="${escapeLabel(type)}",outcome="${escapeLabel(metricLabel(outcome, METRIC_OUTCOMES))}"`
    this.proofs.set(key, (this.proofs.get(key) ?? 0) + 1)
  }

  /** the proofs of one request, each attestor type counted once (a request naming 1,000 made-up types counts `other` once) */
  countProofs(attestorTypes: Iterable<string>, outcome: string): void {
    const seen = new Set<string>()
    for (const t of attestorTypes) seen.add(metricLabel(t, METRIC_ATTESTOR_TYPES))
    for (const t of seen) this.countProof(t, outcome)
  }

  /** a request refused by a rate limit (scope `address` or `identity`) */
  countRateLimited(scope: string): void {
    const s = metricLabel(scope, METRIC_RATE_LIMIT_SCOPES)
    this.rateLimited.set(s, (this.rateLimited.get(s) ?? 0) + 1)
  }

  /** distinct label sets of vouch_attestation_proofs_total (bounded by the fixed label sets) */
  get proofSeries(): number {
    return this.proofs.size
  }

  observeDuration(seconds: number): void {
    for (let i = 0; i < DURATION_BUCKETS.length; i++) if (seconds <= DURATION_BUCKETS[i]!) this.buckets[i]!++
    this.durationSum += seconds
    this.durationCount++
  }

  render(sessionsActive: number): string {
    const lines: string[] = []
    lines.push('# HELP vouch_attestation_proofs_total Attestor proofs checked, by attestor type and outcome.')
    lines.push('# TYPE vouch_attestation_proofs_total counter')
    for (const [labels, n] of [...this.proofs].sort()) lines.push(`vouch_attestation_proofs_total{${labels}} ${n}`)
    lines.push('# HELP vouch_attestation_duration_seconds Time from challenge to verdict.')
    lines.push('# TYPE vouch_attestation_duration_seconds histogram')
    DURATION_BUCKETS.forEach((b, i) => {
      lines.push(`vouch_attestation_duration_seconds_bucket{le="${b}"} ${this.buckets[i]}`)
    })
    lines.push(`vouch_attestation_duration_seconds_bucket{le="+Inf"} ${this.durationCount}`)
    lines.push(`vouch_attestation_duration_seconds_sum ${this.durationSum}`)
    lines.push(`vouch_attestation_duration_seconds_count ${this.durationCount}`)
    lines.push('# HELP vouch_sessions_active Attestation sessions awaiting an answer (not expired).')
    lines.push('# TYPE vouch_sessions_active gauge')
    lines.push(`vouch_sessions_active ${sessionsActive}`)
    lines.push('# HELP vouch_svids_issued_total X509-SVIDs issued.')
    lines.push('# TYPE vouch_svids_issued_total counter')
    lines.push(`vouch_svids_issued_total ${this.svidsIssued}`)
    lines.push('# HELP vouch_rate_limited_total Requests refused by a rate limit, by scope (address or identity).')
    lines.push('# TYPE vouch_rate_limited_total counter')
    for (const [scope, n] of [...this.rateLimited].sort()) lines.push(`vouch_rate_limited_total{scope="${scope}"} ${n}`)
    const policy = this.policy?.()
    if (policy) {
      lines.push('# HELP vouch_policy_generation Policy documents applied since start (1 = the one read at start).')
      lines.push('# TYPE vouch_policy_generation gauge')
      lines.push(`vouch_policy_generation ${policy.generation}`)
      lines.push('# HELP vouch_policy_info The applied policy document, by the SHA-256 of its file.')
      lines.push('# TYPE vouch_policy_info gauge')
      lines.push(`vouch_policy_info{sha256="${escapeLabel(policy.sha256)}"} 1`)
      lines.push('# HELP vouch_policy_reload_failures_total Policy documents refused by validation.')
      lines.push('# TYPE vouch_policy_reload_failures_total counter')
      lines.push(`vouch_policy_reload_failures_total ${policy.failures}`)
    }
    const certs = this.certificates?.()
    if (certs) {
      lines.push('# HELP vouch_ca_expiry_timestamp_seconds When the issuing server CA expires (Unix time).')
      lines.push('# TYPE vouch_ca_expiry_timestamp_seconds gauge')
      lines.push(`vouch_ca_expiry_timestamp_seconds ${Math.floor(certs.caNotAfter / 1000)}`)
      if (certs.tlsNotAfter !== undefined) {
        lines.push('# HELP vouch_tls_certificate_expiry_timestamp_seconds When the listener certificate expires (Unix time).')
        lines.push('# TYPE vouch_tls_certificate_expiry_timestamp_seconds gauge')
        lines.push(`vouch_tls_certificate_expiry_timestamp_seconds ${Math.floor(certs.tlsNotAfter / 1000)}`)
      }
      lines.push('# HELP vouch_bundle_sequence The served bundle spiffe_sequence (one up per CA rotation).')
      lines.push('# TYPE vouch_bundle_sequence gauge')
      lines.push(`vouch_bundle_sequence ${certs.bundleSequence}`)
    }
    return lines.join('\n') + '\n'
  }
}
