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

/** The room of a core/ file: its directory under core/, or its own name for a file directly in core/. */
function roomOf(file: string): string {
  const parts = file.split(/[\\/]/)
  return parts.length > 2 ? parts[1]! : parts[1]!.replace(/\.[^.]+$/, '')
}

/** The layer of each core room, read from the table in docs/architecture.md (rows `| N | `room`, ... | ... |`). */
function coreLayers(): Map<string, number> {
  const text = readFileSync(join(root, 'docs/architecture.md'), 'utf8')
  const section = text.slice(text.indexOf('## The rooms of core'))
  const layers = new Map<string, number>()
  for (const m of section.matchAll(/^\|\s*(\d+)\s*\|([^|]*)\|/gm)) {
    for (const r of m[2]!.matchAll(/`([^`]+)`/g)) layers.set(r[1]!, Number(m[1]))
  }
  return layers
}

/** Imports between different rooms of core/: from room -> to room -> the import lines. */
function roomEdges(files: string[]): Map<string, Map<string, string[]>> {
  const edges = new Map<string, Map<string, string[]>>()
  for (const f of files) {
    for (const spec of importsOf(f)) {
      const t = target(f, spec)
      if (!t.startsWith('core/')) continue
      const from = roomOf(f)
      const to = roomOf(t)
      if (from === to) continue
      if (!edges.has(from)) edges.set(from, new Map())
      const m = edges.get(from)!
      m.set(to, [...(m.get(to) ?? []), `${f} -> ${spec}`])
    }
  }
  return edges
}

/** Each import from a room to a room of the same or a higher layer (or to a room with no layer). */
function upwardImports(edges: Map<string, Map<string, string[]>>, layers: Map<string, number>): string[] {
  const bad: string[] = []
  for (const [from, tos] of edges) {
    for (const [to, lines] of tos) {
      const a = layers.get(from)
      const b = layers.get(to)
      if (a === undefined || b === undefined || b >= a)
        bad.push(...lines.map((l) => `${l} (${from}, layer ${a ?? '?'} -> ${to}, layer ${b ?? '?'})`))
    }
  }
  return bad
}

/** Strongly connected components with more than one room (Tarjan): each is a cycle. */
function cycles(edges: Map<string, Map<string, string[]>>): string[][] {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const out: string[][] = []
  const visit = (v: string): void => {
    index.set(v, index.size)
    low.set(v, index.get(v)!)
    stack.push(v)
    onStack.add(v)
    for (const w of edges.get(v)?.keys() ?? []) {
      if (!index.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!))
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        scc.push(w)
      } while (w !== v)
      if (scc.length > 1) out.push(scc.sort())
    }
  }
  for (const v of edges.keys()) if (!index.has(v)) visit(v)
  return out
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

  describe('core/ is a DAG of rooms in the layers of docs/architecture.md', () => {
    const layers = coreLayers()
    const edges = roomEdges(core)

    it('the table names the rooms of every layer from 0 to the root API', () => {
      expect(layers.get('errors')).toBe(0)
      expect(layers.get('platform')).toBeLessThan(layers.get('x509')!)
      expect(layers.get('policy')).toBeLessThan(layers.get('attestation')!)
      expect(Math.max(...layers.values())).toBe(layers.get('index'))
    })

    it('every room of core/ has a layer', () => {
      const rooms = new Set(core.map(roomOf))
      expect([...rooms].filter((r) => !layers.has(r))).toEqual([])
    })

    it('a room imports only rooms of lower layers', () => {
      expect(upwardImports(edges, layers)).toEqual([])
    })

    it('no cycle among the rooms of core/', () => {
      expect(cycles(edges)).toEqual([])
    })

    it('the checks see what they check: an upward import and a cycle are caught', () => {
      const planted = new Map([
        ['platform', new Map([['x509', ['core/platform.ts -> ./x509/certificate.ts']]])],
        ['x509', new Map([['platform', ['core/x509/verify.ts -> ../platform.ts']]])],
      ])
      expect(cycles(planted)).toEqual([['platform', 'x509']])
      expect(upwardImports(planted, layers)).toEqual([
        `core/platform.ts -> ./x509/certificate.ts (platform, layer ${layers.get('platform')} -> x509, layer ${layers.get('x509')})`,
      ])
      expect(
        upwardImports(
          new Map([
            ['policy', new Map([['ek', ['x']]])],
            ['ek', new Map([['svid', ['y']]])],
          ]),
          layers,
        ),
      ).toEqual(['y (ek, layer 6 -> svid, layer 6)'])
      expect(roomOf('core/platform.ts')).toBe('platform')
      expect(roomOf('core/x509/path-build.ts')).toBe('x509')
      expect(edges.get('attestation')?.has('policy')).toBe(true)
    })
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
