import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ATTESTORS } from '../../core/attestation/attestors.ts'
import { ATTESTOR_TYPES } from '../../core/policy/attribute-keys.ts'

// docs/architecture.md "How to add an attestor": each attestor is one folder under
// core/attestation/attestors/, registered in attestors.ts; the verifier knows attestors only
// through that registry.
const root = resolve(import.meta.dirname, '../..')
const attestation = join(root, 'core/attestation')
const folders = join(attestation, 'attestors')

/** Source text without comments, so a comment may name an attestor type but code may not. */
function code(path: string): string {
  return readFileSync(path, 'utf8')
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/(^|[^:'"`])\/\/.*$/gm, '$1')
}

const folderOf = (type: string) => type.replace(/_/g, '-')

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
}

describe('attestors are modules', () => {
  it('the registry holds exactly the attestor types the policy layer knows, each under its own type', () => {
    expect(Object.keys(ATTESTORS)).toEqual([...ATTESTOR_TYPES])
    for (const [type, attestor] of Object.entries(ATTESTORS)) expect(attestor.type).toBe(type)
  })

  it('each registered attestor is one folder with an index.ts, and the registry imports it from there', () => {
    const registry = code(join(attestation, 'attestors.ts'))
    for (const type of ATTESTOR_TYPES) {
      expect(existsSync(join(folders, folderOf(type), 'index.ts')), `attestors/${folderOf(type)}/index.ts`).toBe(true)
      expect(registry).toContain(`'./attestors/${folderOf(type)}/index.ts'`)
    }
  })

  it('verifier.ts names no attestor type: start and answer go through the registry', () => {
    const verifier = code(join(attestation, 'verifier.ts'))
    for (const type of ATTESTOR_TYPES) expect(verifier, type).not.toContain(type)
    expect(verifier).toMatch(/ATTESTORS\[f\.type\]/)
    expect(verifier).toMatch(/Object\.entries\(ATTESTORS\)/)
  })

  it('an attestor folder imports no other attestor folder (shared parts live in core/attestation/)', () => {
    const bad: string[] = []
    for (const type of ATTESTOR_TYPES) {
      const mine = folderOf(type)
      for (const f of filesUnder(join(folders, mine))) {
        for (const m of code(f).matchAll(/from\s*['"]([^'"]+)['"]/g)) {
          const spec = m[1]!
          const other = ATTESTOR_TYPES.map(folderOf).find((o) => o !== mine && spec.includes(`/${o}/`))
          if (other) bad.push(`${f.slice(root.length + 1)} -> ${spec}`)
        }
      }
    }
    expect(bad).toEqual([])
  })
})
