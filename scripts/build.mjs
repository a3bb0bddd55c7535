// `npm run build`: the TypeScript sources compiled to ESM JavaScript and declaration files in dist/
// (tsc with rewriteRelativeImportExtensions, tsconfig.build.json), which package.json's exports and
// bin point at. Declarations get the same .ts -> .js rewrite as the code. The CLI, server and agent
// keep no declarations (nothing exports them). `--if-stale` rebuilds only when a source is newer than
// the last build (the pretest step).
import { spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')
const stamp = join(dist, '.build-stamp')
const SOURCES = ['core', 'runtimes', 'server', 'agent', 'cli', 'wasm/load.ts', 'wasm/generated', 'tsconfig.json', 'tsconfig.build.json']

function* files(path) {
  const full = join(root, path)
  if (!existsSync(full)) return
  if (statSync(full).isDirectory()) {
    for (const e of readdirSync(full)) if (e !== 'node_modules' && e !== 'build') yield* files(join(path, e))
  } else yield full
}

function newestSource() {
  let newest = 0
  for (const s of SOURCES) for (const f of files(s)) newest = Math.max(newest, statSync(f).mtimeMs)
  return newest
}

if (process.argv.includes('--if-stale') && existsSync(stamp) && statSync(stamp).mtimeMs >= newestSource()) process.exit(0)

rmSync(dist, { recursive: true, force: true })
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
const r = spawnSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
if (r.status !== 0) {
  console.error('vouch build: tsc failed')
  process.exit(1)
}

// relative specifiers in declarations: './x.ts' -> './x.js' (tsc rewrites them in the code only)
const RELATIVE_TS = /((?:from|import)\s*\(?\s*['"])(\.{1,2}\/[^'"]*?)\.ts(['"])/g
let declarations = 0
for (const f of files('dist')) {
  if (!f.endsWith('.d.ts')) continue
  const rel = f.slice(dist.length + 1)
  if (/^(cli|server|agent)\//.test(rel)) {
    rmSync(f)
    continue
  }
  const text = readFileSync(f, 'utf8')
  const out = text.replace(RELATIVE_TS, '$1$2.js$3')
  if (out !== text) writeFileSync(f, out)
  declarations++
}
writeFileSync(stamp, `${new Date().toISOString()}\n`)
console.log(`vouch build: dist/ written (${declarations} declaration files)`)
