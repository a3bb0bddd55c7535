// Builds the agent's native addons (agent/native) with npm's bundled node-gyp: in the checkout
// (`npm ci` runs it from `prepare`), and for installed users through `vouch agent build-native`
// (which passes --strict). Two targets: vouch_peercred (SO_PEERCRED for the Workload API's workload
// attestation; needs only a compiler) and vouch_tcti (the TCTI bridge; only when libtss2-tctildr is
// there, binding.gyp asks pkg-config). Without --strict it never fails: without libtss2-dev the agent
// uses its pure-JS transports, without a compiler it also cannot serve the Workload API (it says so).
import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'agent', 'native')
if (process.env.VOUCH_SKIP_NATIVE) {
  console.log('vouch: VOUCH_SKIP_NATIVE set, native addons not built')
  process.exit(0)
}
const strict = process.argv.includes('--strict')
const built = (name) => existsSync(join(dir, 'build', 'Release', `${name}.node`))
const tss2 = spawnSync('pkg-config', ['--exists', 'tss2-tctildr']).status === 0
// --if-missing (the pretest/predemo step, after scripts/ensure-system.sh installed libtss2-dev):
// build only when an addon is missing, e.g. `npm ci` ran before the system packages existed.
if (process.argv.includes('--if-missing') && built('vouch_peercred') && (built('vouch_tcti') || !tss2)) process.exit(0)
if (!tss2) {
  console.log('vouch: libtss2-tctildr not found (install libtss2-dev for the native TCTI bridge); using pure transports')
}
// node-gyp's rebuild starts by removing build/: without a toolchain it would delete working addons
const has = (cmd, ...a) => spawnSync(cmd, a, { stdio: 'ignore' }).status === 0
const missing = [
  has('python3', '--version') || has('python', '--version') ? undefined : 'python3',
  has('make', '--version') ? undefined : 'make',
  has('c++', '--version') || has('g++', '--version') ? undefined : 'a C++ compiler',
].filter(Boolean)
if (missing.length > 0) {
  console.log(
    `vouch: native addons not built (missing ${missing.join(', ')}); using pure transports, and the Workload API cannot start (no peer credentials)`,
  )
  process.exit(strict ? 1 : 0)
}
// node-gyp: npm's bundled one (npm_config_node_gyp inside npm scripts, else next to this node's npm), else PATH
const bundled = [
  process.env.npm_config_node_gyp,
  join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
].find((p) => p && existsSync(p))
// the headers of the running node, so no download is needed (npm scripts pass npm_config_nodedir)
const prefix = join(dirname(process.execPath), '..')
const nodedir = process.env.npm_config_nodedir ?? (existsSync(join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined)
const args = ['rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])]
const r = bundled
  ? spawnSync(process.execPath, [bundled, ...args], { cwd: dir, stdio: 'inherit' })
  : spawnSync('node-gyp', args, { cwd: dir, stdio: 'inherit', shell: process.platform === 'win32' })
if (r.status !== 0) {
  console.log(
    `vouch: native addons build failed (${r.error?.message ?? `exit ${r.status}`}); using pure transports, and the Workload API cannot start (no peer credentials)`,
  )
}
process.exit(r.status !== 0 && strict ? 1 : 0)
