/**
 * x509-limbo (C2SP) through the `vouch conformance limbo` harness. Every in-scope case must agree
 * with expected_result, except the documented deviations (docs/conformance.md); the counts and
 * the set of deviations are exact, so a regression and an unnoticed fix both fail.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { type LimboTestcase, runLimbo, skipReason } from '../../../cli/commands/conformance-limbo.ts'

const DIR = new URL('../../vectors/x509-limbo/', import.meta.url)

/** Deviations documented in docs/conformance.md: what vouch reports for each (its context). */
const DEVIATIONS: Record<string, RegExp> = {
  // the trust anchor is trusted as given: its AKI would only serve to find its issuer
  'rfc5280::aki::cross-signed-root-missing-aki': /^path of 2 certificates$/,
  'rfc5280::cross-signed-root-missing-aki': /^path of 2 certificates$/,
  // 2023 copies: the case asks for peer name example.com, which the leaf does not carry
  'rfc5280::nc::permitted-dn-match': /^peer name example\.com not in the leaf SAN$/,
  'rfc5280::ca-nameconstraints-permitted-dn-match': /^peer name example\.com not in the leaf SAN$/,
}

/** Path validation cases (bettertls:: in limbo-bettertls.test.ts); crl:: (and has-crl), webpki:: and online:: are out of scope. */
const IN_SCOPE = /^(pathlen|rfc5280|pathological|cve|invalid|bettertls)::/

const FILES = [
  {
    file: 'limbo.json', // C2SP/x509-limbo @ 8a2e6f41 (2026-06-29), compiled by compile-limbo.py
    total: 208,
    inScope: 130,
    agree: 129,
    deviations: ['rfc5280::aki::cross-signed-root-missing-aki'],
  },
  {
    file: 'limbo-2023-12-02-ddc40b47.json',
    total: 135,
    inScope: 86,
    agree: 84,
    deviations: ['rfc5280::aki::cross-signed-root-missing-aki', 'rfc5280::nc::permitted-dn-match'],
  },
  {
    file: 'limbo-2023-11-15-009a8511.json',
    total: 106,
    inScope: 65,
    agree: 63,
    deviations: ['rfc5280::ca-nameconstraints-permitted-dn-match', 'rfc5280::cross-signed-root-missing-aki'],
  },
]

for (const want of FILES) {
  describe(`x509-limbo ${want.file}`, () => {
    const doc = JSON.parse(readFileSync(new URL(want.file, DIR), 'utf8')) as { testcases: LimboTestcase[] }

    it('scopes every pathlen::, rfc5280::, pathological::, cve:: and invalid:: case without CRLs', () => {
      expect(doc.testcases).toHaveLength(want.total)
      for (const tc of doc.testcases) {
        const inScope = IN_SCOPE.test(tc.id) && !tc.features?.includes('has-crl') && !(tc.crls && tc.crls.length > 0)
        expect(skipReason(tc) === undefined, tc.id).toBe(inScope)
      }
      expect(doc.testcases.filter((tc) => skipReason(tc) === undefined)).toHaveLength(want.inScope)
    })

    it(`agrees on ${want.agree} of ${want.inScope} in-scope cases; the rest are the documented deviations`, async () => {
      const report = await runLimbo(doc)
      expect(report.version).toBe(1)
      expect(report.harness).toBe('vouch')
      expect(report.results).toHaveLength(want.total)
      const expected = new Map(doc.testcases.map((t) => [t.id, t.expected_result]))
      let agree = 0
      let skipped = 0
      const deviations: string[] = []
      const disagreements: string[] = []
      for (const r of report.results) {
        if (r.actual_result === 'SKIPPED') {
          skipped++
          expect(r.context.length).toBeGreaterThan(0)
        } else if (r.actual_result === expected.get(r.id)) agree++
        else if (DEVIATIONS[r.id]?.test(r.context)) deviations.push(r.id)
        else disagreements.push(`${r.id}: expected ${expected.get(r.id)}, got ${r.actual_result} (${r.context})`)
      }
      expect(disagreements).toEqual([])
      expect(deviations.sort()).toEqual([...want.deviations].sort())
      expect(agree).toBe(want.agree)
      expect(skipped).toBe(want.total - want.inScope)
    })
  })
}
