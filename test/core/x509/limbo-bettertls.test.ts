/**
 * x509-limbo's bettertls:: cases (Netflix BetterTLS name-constraint and path-building suites, as
 * limbo compiles them) through the `vouch conformance limbo` harness. All 9572 agree (measured with
 * the CLI, docs/conformance.md); to keep this file at a few seconds it runs every path-building case
 * and every 32nd name-constraint case, a fixed sample, and asserts exact agreement on it.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { decodeLimboFile, type LimboTestcase, runLimbo, skipReason } from '../../../cli/commands/conformance-limbo.ts'

const FILE = new URL('../../vectors/x509-limbo/limbo-bettertls.json.gz', import.meta.url)
const doc = JSON.parse(decodeLimboFile(readFileSync(FILE))) as { version: number; testcases: LimboTestcase[] }

const caseNumber = (id: string) => Number(id.slice(id.lastIndexOf('::tc') + 4))
const sample = doc.testcases.filter((t) => t.id.startsWith('bettertls::pathbuilding::') || caseNumber(t.id) % 32 === 0)

describe('x509-limbo bettertls:: (limbo-bettertls.json.gz)', () => {
  it('holds both suites, all in scope', () => {
    expect(doc.version).toBe(1)
    const suites = new Map<string, number>()
    for (const t of doc.testcases) {
      const suite = t.id.split('::')[1]!
      suites.set(suite, (suites.get(suite) ?? 0) + 1)
      expect(skipReason(t), t.id).toBeUndefined()
    }
    expect(Object.fromEntries(suites)).toEqual({ nameconstraints: 9491, pathbuilding: 81 })
    expect(sample).toHaveLength(378)
    // both outcomes, and the path-building invalid reasons, are in the sample
    expect(sample.filter((t) => t.expected_result === 'SUCCESS')).toHaveLength(74)
    expect(sample.filter((t) => t.expected_result === 'FAILURE')).toHaveLength(304)
  })

  it('agrees on every case of the sample', async () => {
    const report = await runLimbo({ testcases: sample })
    const expected = new Map(sample.map((t) => [t.id, t.expected_result]))
    const disagreements = report.results
      .filter((r) => r.actual_result !== expected.get(r.id))
      .map((r) => `${r.id}: expected ${expected.get(r.id)}, got ${r.actual_result} (${r.context})`)
    expect(disagreements).toEqual([])
    expect(report.results.filter((r) => r.actual_result === 'SUCCESS')).toHaveLength(74)
  })
})
