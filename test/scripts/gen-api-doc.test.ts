/**
 * docs/api.md stays true: it is exactly what scripts/gen-api-doc.ts makes of the built declarations,
 * and every value an entry point exports at run time has its section there.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { beforeAll, describe, expect, it } from 'vitest'
import { entryPoints, renderApiDoc } from '../../scripts/gen-api-doc.ts'

const ROOT = resolve(import.meta.dirname, '../..')
let doc: string

beforeAll(() => {
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-stale'], { cwd: ROOT, stdio: 'ignore' })
  doc = readFileSync(join(ROOT, 'docs/api.md'), 'utf8')
}, 120_000)

/** the headings of one entry point's section */
function section(specifier: string): string[] {
  const start = doc.indexOf(`\n## ${specifier}\n`)
  expect(start, `a section for ${specifier}`).toBeGreaterThan(0)
  const end = doc.indexOf('\n## ', start + 1)
  return [...doc.slice(start, end < 0 ? undefined : end).matchAll(/^### `([^`]+)`/gm)].map((m) => m[1]!)
}

describe('docs/api.md', () => {
  it('is what scripts/gen-api-doc.ts generates from dist/ (run it after changing an export)', () => {
    expect(doc).toBe(renderApiDoc(ROOT))
  })

  it('documents every value each entry point exports at run time', async () => {
    const entries = entryPoints(ROOT).filter((e) => e.types.startsWith('./dist/'))
    expect(entries.map((e) => e.subpath)).toContain('./edge')
    for (const e of entries) {
      const mod = (await import(pathToFileURL(join(ROOT, e.types.replace(/\.d\.ts$/, '.js'))).href)) as Record<string, unknown>
      const headings = section(e.specifier)
      for (const name of Object.keys(mod)) expect(headings, `${e.specifier} exports ${name}`).toContain(name)
    }
  })

  it('has the WASM kernels subpath, its default export typed without DOM', () => {
    expect(section('vouch/wasm/kernels.wasm')).toEqual(['default'])
    expect(doc).toContain('const default: object')
  })
})
