// A hand-written SVG bar chart: per work item, throughput of vouch (node:crypto, cached
// intermediates, Web Crypto only) and of the pkijs baseline as a percentage of the native floor.
import type { Row } from './run.ts'

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')

export function renderChart(rows: Row[], meta: { runtime: string; date: string; cpu?: string }): string {
  const series: [string, string, (r: Row) => number | undefined][] = [
    ['vouch (node:crypto)', '#2b6cb0', (r) => r.vouch.opsPerSec / r.floor.opsPerSec],
    ['vouch, cached intermediates', '#38a169', (r) => (r.vouchCached && r.floorCached ? r.vouchCached.opsPerSec / r.floorCached.opsPerSec : undefined)],
    ['vouch, Web Crypto only (16 in flight)', '#d69e2e', (r) => r.edge.opsPerSec / r.floor.opsPerSec],
    ['pkijs baseline', '#c53030', (r) => (r.baseline ? r.baseline.opsPerSec / r.floor.opsPerSec : undefined)],
  ]
  const barH = 14
  const groupH = series.length * barH + 26
  const left = 330
  const width = 900
  const scale = (width - left - 80) / 1.0 // 100% of the floor spans the plot
  const height = 70 + rows.length * groupH + 30
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="10" y="20" font-size="15" font-weight="bold">vouch throughput as a share of the native floor (${esc(meta.runtime)})</text>`,
    `<text x="10" y="38" fill="#555">${esc(meta.date)} ${esc(meta.cpu ?? '')}; floor = node:crypto on pre-decoded keys, same checks, same run</text>`,
  ]
  series.forEach(([name, color], i) => {
    out.push(`<rect x="${10 + i * 215}" y="48" width="10" height="10" fill="${color}"/><text x="${24 + i * 215}" y="57">${esc(name)}</text>`)
  })
  rows.forEach((r, g) => {
    const y0 = 70 + g * groupH
    out.push(`<text x="10" y="${y0 + 14}" font-weight="bold">${esc(r.item)}</text>`)
    series.forEach(([, color, f], i) => {
      const v = f(r)
      if (v === undefined) return
      const y = y0 + 20 + i * barH
      const w = Math.max(1, Math.min(v, 1.5) * scale)
      out.push(`<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barH - 3}" fill="${color}"/>`)
      out.push(`<text x="${left + w + 4}" y="${y + barH - 4}">${(v * 100).toFixed(v < 0.1 ? 1 : 0)}%</text>`)
    })
    out.push(`<line x1="${left + scale}" y1="${y0 + 18}" x2="${left + scale}" y2="${y0 + groupH - 4}" stroke="#999" stroke-dasharray="3,3"/>`)
  })
  out.push('</svg>')
  return out.join('\n')
}
