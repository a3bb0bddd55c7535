// Builds the optional native TCTI bridge (agent/native) with npm's bundled node-gyp. Never fails the
// install: without libtss2-dev or a compiler the agent uses its pure-JS transports (and says so).
import { spawnSync } from 'node:child_process'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const dir = join(dirname(fileURLToPath(import.meta.url)), '..', 'agent', 'native')
if (process.env.VOUCH_SKIP_NATIVE) {
  console.log('vouch: VOUCH_SKIP_NATIVE set, native TCTI bridge not built')
  process.exit(0)
}
const pc = spawnSync('pkg-config', ['--exists', 'tss2-tctildr'])
if (pc.status !== 0) {
  console.log('vouch: libtss2-tctildr not found (install libtss2-dev for the native TCTI bridge); using pure transports')
  process.exit(0)
}
const r = spawnSync('node-gyp', ['rebuild'], { cwd: dir, stdio: 'inherit', shell: process.platform === 'win32' })
if (r.status !== 0) console.log(`vouch: native TCTI bridge build failed (${r.error?.message ?? `exit ${r.status}`}); using pure transports`)
process.exit(0)
