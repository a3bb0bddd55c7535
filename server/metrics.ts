/**
 * Prometheus text exposition (format 0.0.4): vouch_attestation_proofs_total{attestor_type,outcome},
 * vouch_attestation_duration_seconds (histogram), vouch_sessions_active, vouch_svids_issued_total,
 * vouch_rate_limited_total{scope}.
 *
 * Label values come from fixed sets only: a known attestor type (or `unknown` when the server
 * lost track of the session) and a known outcome; anything else, such as a name an agent made up
 * in providedMethods, is counted as `other`. The number of series is therefore fixed.
 */
import { ATTESTOR_TYPES } from '../core/attestation/attribute-keys.ts'

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
    return lines.join('\n') + '\n'
  }
}
