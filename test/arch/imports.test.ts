import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join, relative, resolve, dirname } from 'node:path'
import { describe, expect, it } from 'vitest'

// The dependency rules of docs/architecture.md, enforced by scanning import specifiers.
const root = resolve(import.meta.dirname, '../..')

function tsFiles(dir: string): string[] {
  const out: string[] = []
  let entries: string[]
  try {
    entries = readdirSync(join(root, dir))
  } catch {
    return out
  }
  for (const e of entries) {
    const p = join(dir, e)
    if (e === 'node_modules' || e === 'assembly' || e === 'build') continue
    if (statSync(join(root, p)).isDirectory()) out.push(...tsFiles(p))
    else if (/\.(ts|mts|js|mjs)$/.test(e)) out.push(p)
  }
  return out
}

const IMPORT =
  /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]\s*\)/g

function importsOf(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8')
  return [...text.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]!)
}

function target(file: string, spec: string): string {
  return spec.startsWith('.') ? relative(root, resolve(root, dirname(file), spec)) : spec
}

describe('architecture', () => {
  const core = tsFiles('core')

  it('scans a non-trivial core', () => {
    expect(core.length).toBeGreaterThan(5)
  })

  it('core/ imports only core/ (web platform APIs, no runtime modules, no packages)', () => {
    const bad: string[] = []
    for (const f of core) {
      for (const spec of importsOf(f)) {
        const t = target(f, spec)
        if (!t.startsWith('core/') && !t.startsWith('core\\')) bad.push(`${f} -> ${spec}`)
      }
    }
    expect(bad).toEqual([])
  })

  it('core/ uses no runtime globals (Buffer, process, Deno, Bun, require)', () => {
    const bad: string[] = []
    for (const f of core) {
      const text = readFileSync(join(root, f), 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, '')
      const m = text.match(/\b(Buffer|process|Deno|Bun)\s*\.|\brequire\s*\(/)
      if (m) bad.push(`${f}: ${m[0]}`)
    }
    expect(bad).toEqual([])
  })

  it('nothing depends on server/, agent/, cli/, bench/ or test/ from core/, wasm/ or runtimes/', () => {
    const bad: string[] = []
    for (const f of [...core, ...tsFiles('wasm'), ...tsFiles('runtimes')]) {
      for (const spec of importsOf(f)) {
        const t = target(f, spec)
        if (/^(server|agent|cli|bench|test)\//.test(t)) bad.push(`${f} -> ${spec}`)
        if (f.startsWith('core/') && t.startsWith('wasm/')) bad.push(`${f} -> ${spec}`)
      }
    }
    expect(bad).toEqual([])
  })

  it('server/ (the portable Hono app) imports no runtime modules outside server/entry', () => {
    const bad: string[] = []
    for (const f of tsFiles('server').filter((f) => !f.startsWith('server/entry/'))) {
      for (const spec of importsOf(f)) {
        if (/^(node:|bun:|@hono\/node-server)/.test(spec) || /^runtimes\//.test(target(f, spec))) bad.push(`${f} -> ${spec}`)
      }
    }
    expect(bad).toEqual([])
  })

  it('production code never imports test/ or bench/', () => {
    const bad: string[] = []
    for (const dir of ['core', 'wasm', 'runtimes', 'server', 'agent', 'cli']) {
      for (const f of tsFiles(dir)) {
        for (const spec of importsOf(f)) if (/^(test|bench)\//.test(target(f, spec))) bad.push(`${f} -> ${spec}`)
      }
    }
    expect(bad).toEqual([])
  })
})
