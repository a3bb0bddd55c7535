/** Metric labels from fixed sets: an agent's made-up attestor types and outcomes never become series. */
import { describe, expect, it } from 'vitest'
import { Metrics } from '../../server/metrics.ts'

describe('Metrics labels', () => {
  it('known attestor types and outcomes are labels; anything else is `other`, counted once per request', () => {
    const m = new Metrics()
    m.countProofs(['tpm_devid', 'tpm_devid'], 'success')
    m.countProofs(['tpm_ek', 'made-up', 'also "made" up\n'], 'failure')
    for (let i = 0; i < 1000; i++) m.countProofs([`random-${i}`, `r2-${i}`], i % 2 ? 'failure' : `outcome-${i}`)
    m.countRateLimited('address')
    m.countRateLimited('nonsense')
    expect(m.proofSeries).toBe(4)
    const text = m.render(0)
    expect(text).toContain('vouch_attestation_proofs_total{attestor_type="tpm_devid",outcome="success"} 1')
    expect(text).toContain('vouch_attestation_proofs_total{attestor_type="tpm_ek",outcome="failure"} 1')
    expect(text).toContain('vouch_attestation_proofs_total{attestor_type="other",outcome="failure"} 501')
    expect(text).toContain('vouch_attestation_proofs_total{attestor_type="other",outcome="other"} 500')
    expect(text).toContain('vouch_rate_limited_total{scope="address"} 1')
    expect(text).toContain('vouch_rate_limited_total{scope="other"} 1')
    expect(text).not.toMatch(/random|made/)
  })
})
