/**
 * The JSR package (jsr.json): the same entry points as package.json's `exports`, each on the
 * TypeScript source the npm build compiles, and `deno publish --dry-run` passing (type check, no
 * slow types, license). The dry run needs no network (checked with `unshare -n`).
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { BIN } from './project.ts'
import { ROOT } from './vectors.ts'

const run = promisify(execFile)
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  version: string
  license: string
  exports: Record<string, string | { types: string; default: string }>
}
const jsr = JSON.parse(readFileSync(join(ROOT, 'jsr.json'), 'utf8')) as {
  name: string
  version: string
  license: string
  exports: Record<string, string>
  publish: { include: string[]; exclude: string[] }
}

describe('jsr.json', () => {
  it('has the subpaths of package.json exports (all but ./package.json), the version and the license', () => {
    expect(Object.keys(jsr.exports)).toEqual(Object.keys(pkg.exports).filter((s) => s !== './package.json'))
    expect(jsr.version).toBe(pkg.version)
    expect(jsr.license).toBe(pkg.license)
    expect(jsr.name).toMatch(/^@[a-z0-9-]+\/[a-z0-9-]+$/)
  })

  it('maps each subpath to the source its npm build is compiled from', () => {
    for (const [subpath, target] of Object.entries(pkg.exports)) {
      if (subpath === './package.json') continue
      const source = jsr.exports[subpath]!
      expect(existsSync(join(ROOT, source)), source).toBe(true)
      const built = typeof target === 'string' ? target : target.default
      if (built.startsWith('./dist/')) expect(source).toBe(built.replace('./dist/', './').replace(/\.js$/, '.ts'))
      // JSR carries TypeScript: the kernels subpath is a module that compiles the embedded bytes
      else expect([subpath, source]).toEqual(['./wasm/kernels.wasm', './wasm/kernels-module.ts'])
    }
  })

  it('the JSR kernels entry is a compiled module createEdgePlatform loads (Deno, from the sources)', async () => {
    const code = [
      `import kernels from ${JSON.stringify(join(ROOT, 'wasm/kernels-module.ts'))}`,
      `import { createEdgePlatform } from ${JSON.stringify(join(ROOT, 'runtimes/edge/index.ts'))}`,
      'const p = await createEdgePlatform({ wasm: kernels })',
      'console.log(JSON.stringify([kernels instanceof WebAssembly.Module, p.kernelReport]))',
    ].join('\n')
    const { stdout } = await run(BIN.deno, ['eval', '--quiet', code], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
    })
    expect(JSON.parse(stdout)).toEqual([true, { kernels: 'wasm' }])
  })

  it('deno publish --dry-run passes: type check, no slow types', { timeout: 180_000 }, async () => {
    const r = await run(BIN.deno, ['publish', '--dry-run', '--allow-dirty'], {
      cwd: ROOT,
      env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' },
      maxBuffer: 16 << 20,
      timeout: 170_000,
    }).catch((e: { stdout: string; stderr: string; code: number }) => e)
    const out = `${r.stdout}\n${r.stderr}`
    expect('code' in r ? r.code : 0).toBe(0)
    // a slow type or a type error prints `error[kind]`, `[ERROR]` or `error:`; warnings `warning[kind]`
    expect(out).not.toMatch(/error\[|\[ERROR\]|^error:|warning\[/m)
    expect(out).toMatch(/Dry run complete/)
    // what it would publish: the sources, never tests, vectors or keys
    const files = [...out.matchAll(/file:\/\/\S+?\/((?:core|runtimes|wasm)\/\S+|[A-Z][A-Za-z.]+|jsr\.json)\s/g)].map((m) => m[1]!)
    expect(files).toContain('core/index.ts')
    expect(files).toContain('wasm/kernels-module.ts')
    expect(out).not.toMatch(/\/test\/|\.test\.ts|\.pem|\.priv/)
  })
})
