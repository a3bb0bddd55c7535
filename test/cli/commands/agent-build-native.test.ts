// `vouch agent build-native` is how an installed package gets the native TCTI bridge (installing
// vouch compiles nothing). Without the toolchain it says exactly what is missing and exits 1.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../../..')

describe('vouch agent build-native', () => {
  it('without pkg-config, libtss2, make or a compiler on PATH: names each missing part, exit 1', () => {
    // PATH holds only a link to node: none of the build prerequisites is reachable
    const bin = mkdtempSync(join(tmpdir(), 'vouch-bare-path-'))
    symlinkSync(process.execPath, join(bin, 'node'))
    const r = spawnSync(process.execPath, [resolve(ROOT, 'bin/vouch.mjs'), 'agent', 'build-native'], {
      encoding: 'utf8',
      env: { PATH: bin, HOME: process.env.HOME ?? '/tmp' },
    })
    rmSync(bin, { recursive: true, force: true })
    expect(r.status).toBe(1)
    expect(r.stderr).toMatch(/cannot build the native TCTI bridge: missing libtss2-dev \(pkg-config tss2-tctildr\)/)
    expect(r.stderr).toMatch(/make/)
    expect(r.stderr).toMatch(/a C\+\+ compiler/)
    expect(r.stderr).toMatch(/apt-get install libtss2-dev/)
  })

  it('is listed by vouch agent --help', () => {
    const r = spawnSync(process.execPath, [resolve(ROOT, 'bin/vouch.mjs'), 'agent', '--help'], { encoding: 'utf8' })
    expect(r.stdout).toMatch(/build-native/)
  })
})
