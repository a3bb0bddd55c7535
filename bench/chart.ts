// A hand-written SVG bar chart: per work item and runtime, throughput of vouch (fast provider,
// server caches, Web Crypto only) and of the pkijs baseline as a share of that runtime's
// native floor, from every bench/out/results-<runtime>.json present.
import type { Row } from './run.ts'

export interface RunResult {
  readonly meta: { readonly runtime: string; readonly date: string; readonly cpu?: string; readonly provider?: string }
  readonly rows: readonly Row[]
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')

const SERIES: [string, string, (r: Row) => number | undefined][] = [
  ['vouch (fast provider)', '#2b6cb0', (r) => r.ratios.vouch],
  ['vouch, server caches', '#38a169', (r) => r.ratios.cached],
  ['vouch, Web Crypto only (16 in flight)', '#d69e2e', (r) => r.ratios.edge],
  ['pkijs baseline', '#c53030', (r) => r.ratios.baselineOfFloor],
]

export function renderChart(runs: readonly RunResult[]): string {
  const items = [...new Set(runs.flatMap((run) => run.rows.map((r) => r.item)))]
  const barH = 12
  const runH = SERIES.length * barH + 6
  const groupH = 22 + runs.length * runH + 8
  const left = 360
  const width = 960
  const scale = (width - left - 90) / 1.5 // the plot spans 0..150% of the floor
  const height = 90 + items.length * groupH + 20
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="10" y="20" font-size="15" font-weight="bold">vouch throughput as a share of each runtime's native floor</text>`,
    `<text x="10" y="38" fill="#555">${esc(runs.map((r) => `${r.meta.runtime} (${r.meta.date.slice(0, 10)})`).join(', '))}; floor = the runtime's node:crypto on pre-decoded keys, same checks, same run; dashed line = 100%</text>`,
  ]
  SERIES.forEach(([name, color], i) => {
    out.push(
      `<rect x="${10 + i * 235}" y="50" width="10" height="10" fill="${color}"/><text x="${24 + i * 235}" y="59">${esc(name)}</text>`,
    )
  })
  items.forEach((item, g) => {
    const y0 = 76 + g * groupH
    out.push(`<text x="10" y="${y0 + 14}" font-weight="bold">${esc(item)}</text>`)
    runs.forEach((run, k) => {
      const row = run.rows.find((r) => r.item === item)
      const yr = y0 + 22 + k * runH
      out.push(`<text x="24" y="${yr + runH / 2 + 2}" fill="#333">${esc(run.meta.runtime)}</text>`)
      if (!row) return
      SERIES.forEach(([, color, f], i) => {
        const v = f(row)
        if (v === undefined) return
        const y = yr + i * barH
        const w = Math.max(1, Math.min(v, 1.5) * scale)
        out.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH - 2}" fill="${color}"/>`)
        out.push(`<text x="${left + w + 4}" y="${y + barH - 3}" font-size="10">${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%</text>`)
      })
    })
    out.push(
      `<line x1="${left + scale}" y1="${y0 + 18}" x2="${left + scale}" y2="${y0 + groupH - 6}" stroke="#999" stroke-dasharray="3,3"/>`,
    )
  })
  out.push('</svg>')
  return out.join('\n')
}
