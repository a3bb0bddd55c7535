// `npx tsx bench/cli-startup.ts [ROUNDS] [-- ARGS...]`: how long `vouch --help` takes to start and
// exit, against `node -e 0`, as whole processes. Rounds are interleaved (one of each, in turn) so
// both see the same machine load; the ratio is the median of the per-round ratios. The goal is
// within 3x on Node 20 (docs/cli.md), which needs bin/vouch.mjs to run compiled JavaScript: with
// the tsx loader most of the time is tsx's own start-up. This is a measurement, not a test.
//
//   VOUCH_BIN=dist/bin/vouch.mjs npx tsx bench/cli-startup.ts   time another entry point
import { spawnSync } from 'node:child_process'
import { join, relative, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')
const dashes = process.argv.indexOf('--')
const rounds = Number(process.argv[2] && process.argv[2] !== '--' ? process.argv[2] : 21)
const args = dashes >= 0 ? process.argv.slice(dashes + 1) : ['--help']
const bin = resolve(ROOT, process.env.VOUCH_BIN ?? join('bin', 'vouch.mjs'))
// a clean environment for the children: no loader inherited from the tsx running this script
const env = { ...process.env, NODE_OPTIONS: '' }

function timeMs(argv: string[]): number {
  const start = process.hrtime.bigint()
  const r = spawnSync(process.execPath, argv, { cwd: ROOT, env, stdio: ['ignore', 'ignore', 'pipe'] })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (r.status !== 0) throw new Error(`node ${argv.join(' ')} exited ${r.status}: ${r.stderr}`)
  return ms
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

// one warm-up of each (file system cache, tsx's transform cache)
timeMs(['-e', '0'])
timeMs([bin, ...args])
const node: number[] = []
const vouch: number[] = []
const ratios: number[] = []
for (let i = 0; i < rounds; i++) {
  const first = i % 2 === 0
  const a = first ? timeMs(['-e', '0']) : 0
  const b = timeMs([bin, ...args])
  const c = first ? a : timeMs(['-e', '0'])
  node.push(c)
  vouch.push(b)
  ratios.push(b / c)
}
const ratio = median(ratios)
console.log(`node ${process.version}, ${rounds} interleaved rounds, ${relative(ROOT, bin)} ${args.join(' ')}`)
console.log(`  node -e 0            median ${median(node).toFixed(1)} ms`)
console.log(`  vouch ${args.join(' ').padEnd(14)} median ${median(vouch).toFixed(1)} ms`)
console.log(`  ratio (median of per-round ratios) ${ratio.toFixed(2)}x  (goal <= 3x: ${ratio <= 3 ? 'met' : 'not met'})`)
