/**
 * Prometheus text exposition (format 0.0.4): vouch_attestation_proofs_total{attestor_type,outcome},
 * vouch_attestation_duration_seconds (histogram), vouch_sessions_active, vouch_svids_issued_total;
 * once a policy is set: vouch_policy_generation, vouch_policy_info{sha256}, vouch_policy_reload_failures_total;
 * once certificates are set: vouch_ca_expiry_timestamp_seconds, vouch_tls_certificate_expiry_timestamp_seconds,
 * vouch_bundle_sequence.
 */
export const DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const

function escapeLabel(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

export class Metrics {
  private readonly proofs = new Map<string, number>()
  private readonly buckets = new Array<number>(DURATION_BUCKETS.length).fill(0)
  private durationSum = 0
  private durationCount = 0
  svidsIssued = 0
  /** the applied policy document (server/entry/policy-reload.ts) */
  policy: (() => { generation: number; sha256: string; failures: number }) | undefined
  /** the server CA's and listener's expiry (ms) and the bundle's sequence (server/entry/bootstrap.ts) */
  certificates: (() => { caNotAfter: number; tlsNotAfter?: number; bundleSequence: bigint }) | undefined

  /** one attestor's proof: outcome `success`, `failure` or `error` */
  countProof(attestorType: string, outcome: string): void {
    const key = `attestor_type="${escapeLabel(attestorType)}",outcome="${escapeLabel(outcome)}"`
    this.proofs.set(key, (this.proofs.get(key) ?? 0) + 1)
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
