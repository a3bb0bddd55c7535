import { describe, expect, it } from 'vitest'
import { renderChart, type RunResult } from '../../bench/chart.ts'
import type { Measurement } from '../../bench/harness.ts'

const m = (opsPerSec: number): Measurement => ({
  name: 'x',
  concurrency: 1,
  opsPerSec,
  spread: [opsPerSec, opsPerSec],
  cpuUsPerOp: 1,
  latencyUs: 1e6 / opsPerSec,
  samples: [opsPerSec],
})

describe('bench chart', () => {
  it("draws a group per work item with a bar set per runtime, each bar the row's ratio to that runtime's floor", () => {
    const runs: RunResult[] = [
      {
        meta: { runtime: 'node 20.20.2', date: '2026-11-23T00:00:00Z' },
        rows: [
          {
            item: 'tpm_devid all-RSA',
            floor: m(1000),
            floorCached: m(2000),
            baseline: m(20),
            vouch: m(500),
            vouchCached: m(1100),
            edge: m(300),
            ratios: { vouch: 0.5, cached: 0.55, edge: 0.3, overBaseline: 55, baselineOfFloor: 0.02 },
          },
          { item: 'JWT-SVID (ES256)', floor: m(10_000), vouch: m(4000), edge: m(8000), ratios: { vouch: 0.4, edge: 0.8 } },
        ],
      },
      {
        meta: { runtime: 'bun 1.4.5', date: '2026-11-23T00:00:00Z' },
        rows: [{ item: 'tpm_devid all-RSA', floor: m(4000), vouch: m(1000), edge: m(1200), ratios: { vouch: 0.25, edge: 0.3 } }],
      },
    ]
    const svg = renderChart(runs)
    expect(svg.startsWith('<svg')).toBe(true)
    expect(svg.endsWith('</svg>')).toBe(true)
    for (const s of ['tpm_devid all-RSA', 'JWT-SVID (ES256)', 'node 20.20.2', 'bun 1.4.5']) expect(svg).toContain(s)
    // node all-RSA: 50%, 55% (cached), 30% (edge), 2.0% (baseline); JWT 40%, 80%; bun 25%, 30%
    const labels = [...svg.matchAll(/>([\d.]+)%</g)].map((x) => x[1])
    expect(labels).toEqual(['50', '55', '30', '2.0', '25', '30', '40', '80'])
    // one bar per value, plus the 4 legend swatches
    expect(svg.match(/<rect /g)).toHaveLength(labels.length + 4)
  })
})
