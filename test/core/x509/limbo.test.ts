/**
 * x509-limbo (C2SP) through the `vouch conformance limbo` harness. Every in-scope case must agree
 * with expected_result, except the documented deviations (docs/conformance.md).
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { runLimbo, type LimboTestcase } from '../../../cli/commands/conformance-limbo.ts'

const DIR = new URL('../../vectors/x509-limbo/', import.meta.url)

/** Documented in docs/conformance.md with reasons. */
const DEVIATIONS: Record<string, string> = {
  'rfc5280::ca-nameconstraints-permitted-dn-match': 'peer name example.com is in neither SAN nor CN of the leaf',
  'rfc5280::nc::permitted-dn-match': 'peer name example.com is in neither SAN nor CN of the leaf',
}

for (const file of ['limbo.json', 'limbo-2023-12-02-ddc40b47.json']) {
  describe(`x509-limbo ${file}`, () => {
    const doc = JSON.parse(readFileSync(new URL(file, DIR), 'utf8')) as { testcases: LimboTestcase[] }
    it('agrees with every in-scope pathlen:: and rfc5280:: case', async () => {
      const report = await runLimbo(doc)
      expect(report.version).toBe(1)
      expect(report.harness).toBe('vouch')
      expect(report.results).toHaveLength(doc.testcases.length)
      const expected = new Map(doc.testcases.map((t) => [t.id, t.expected_result]))
      let agree = 0
      let skipped = 0
      const deviations: string[] = []
      const disagreements: string[] = []
      for (const r of report.results) {
        if (r.actual_result === 'SKIPPED') {
          skipped++
          expect(r.context.length).toBeGreaterThan(0)
          // pathlen:: and rfc5280:: cases are in scope: none may be skipped
          expect(r.id.startsWith('pathlen::') || r.id.startsWith('rfc5280::')).toBe(false)
        } else if (r.actual_result === expected.get(r.id)) agree++
        else if (DEVIATIONS[r.id]) deviations.push(r.id)
        else disagreements.push(`${r.id}: expected ${expected.get(r.id)}, got ${r.actual_result} (${r.context})`)
      }
      console.log(`${file}: total ${report.results.length}, agree ${agree}, skipped ${skipped}, deviations ${deviations.length}`)
      expect(disagreements).toEqual([])
      expect(deviations.length).toBeLessThanOrEqual(1)
      expect(agree + skipped + deviations.length).toBe(doc.testcases.length)
      // every scoped case ran: pathlen + rfc5280 + pathological
      const inScope = doc.testcases.filter((t) => /^(pathlen|rfc5280|pathological)::/.test(t.id)).length
      expect(agree + deviations.length).toBe(inScope)
    })
  })
}
