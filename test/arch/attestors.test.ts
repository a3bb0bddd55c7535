import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ATTESTORS, BUILTIN_ATTESTORS } from '../../core/attestors/registry.ts'
import { ATTESTOR_TYPES } from '../../core/policy/attribute-keys.ts'

// docs/architecture.md "How to add an attestor": each attestor is one folder under core/attestors/,
// registered by one line in core/attestors/registry.ts; the policy layer and the verifier know
// attestors only through a registry, so no attestor's type name appears in core outside its folder.
const root = resolve(import.meta.dirname, '../..')
const core = join(root, 'core')
const folders = join(core, 'attestors')
const registryFile = join(folders, 'registry.ts')

/** Source text without comments, so a comment may name an attestor type but code may not. */
function code(path: string): string {
  return readFileSync(path, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
}

const folderOf = (type: string) => type.replace(/_/g, '-')
const rel = (f: string) => relative(root, f)

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}

/**
 * Modules that only re-export an attestor's public names under the paths the package published
 * before attestors became folders (the `vouch/attestation` entry, its wire and evidence modules).
 */
const RE_EXPORTERS = ['core/attestation/wire.ts', 'core/attestation/evidence.ts', 'core/entries/attestation.ts']

describe('attestors are modules', () => {
  it('the registry holds exactly the attestor types the policy layer knows, each under its own type', () => {
    expect(BUILTIN_ATTESTORS.types).toEqual([...ATTESTOR_TYPES])
    expect(Object.keys(ATTESTORS)).toEqual([...ATTESTOR_TYPES])
    for (const a of BUILTIN_ATTESTORS.attestors) expect(ATTESTORS[a.type as keyof typeof ATTESTORS]).toBe(a)
  })

  it('each registered attestor is one folder with an index.ts, imported by the registry and listed on one line', () => {
    const registry = code(registryFile)
    for (const type of ATTESTOR_TYPES) {
      expect(existsSync(join(folders, folderOf(type), 'index.ts')), `attestors/${folderOf(type)}/index.ts`).toBe(true)
      expect(registry).toContain(`'./${folderOf(type)}/index.ts'`)
    }
    // the registry's BUILTINS list: one identifier per line, as many as there are attestors
    const list = registry.match(/const BUILTINS = \[([\s\S]*?)\] as const/)![1]!
    expect(
      list
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    ).toHaveLength(ATTESTOR_TYPES.length)
  })

  it('attestor type names appear in core code only inside their own folder', () => {
    const bad: string[] = []
    for (const f of filesUnder(core)) {
      const text = code(f)
      for (const type of ATTESTOR_TYPES) {
        if (f.startsWith(join(folders, folderOf(type)) + '/')) continue
        if (new RegExp(`\\b${type}\\b`).test(text)) bad.push(`${rel(f)} names ${type}`)
      }
    }
    expect(bad).toEqual([])
  })

  it('only the registry imports an attestor folder; the published paths only re-export from one', () => {
    const bad: string[] = []
    for (const f of filesUnder(core)) {
      if (f.startsWith(folders + '/') && f !== registryFile) continue
      const text = code(f)
      for (const m of text.matchAll(/(?:^|\n)\s*(import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]/g)) {
        const spec = m[2]!
        if (!ATTESTOR_TYPES.some((t) => spec.includes(`/${folderOf(t)}/`) || spec.startsWith(`./${folderOf(t)}/`))) continue
        if (f === registryFile) continue
        if (RE_EXPORTERS.includes(rel(f)) && m[1] === 'export') continue
        bad.push(`${rel(f)} -> ${spec}`)
      }
    }
    expect(bad).toEqual([])
  })

  it('the verifier and the policy validator go through a registry', () => {
    const verifier = code(join(core, 'attestation/verifier.ts'))
    expect(verifier).toMatch(/attestors\.get\(/)
    expect(verifier).toMatch(/for \(const attestor of attestors\.attestors\)/)
    const validate = code(join(core, 'policy/validate.ts'))
    expect(validate).toMatch(/c\.attestors\.get\(/)
    expect(validate).toMatch(/attestor\.parseConfig\(/)
  })

  it('an attestor folder imports no other attestor folder (shared parts live in core/attestor/)', () => {
    const bad: string[] = []
    for (const type of ATTESTOR_TYPES) {
      const mine = folderOf(type)
      for (const f of filesUnder(join(folders, mine))) {
        for (const m of code(f).matchAll(/from\s*['"]([^'"]+)['"]/g)) {
          const spec = m[1]!
          const other = ATTESTOR_TYPES.map(folderOf).find((o) => o !== mine && spec.includes(`/${o}/`))
          if (other || spec.includes('registry.ts')) bad.push(`${rel(f)} -> ${spec}`)
        }
      }
    }
    expect(bad).toEqual([])
  })
})
