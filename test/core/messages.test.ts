import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import * as messages from '../../core/messages.ts'

const ROOT = new URL('../..', import.meta.url).pathname
const SOURCE_DIRS = ['core', 'server', 'agent', 'cli', 'runtimes']

function sources(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const rel = join(dir, e.name)
    if (e.isDirectory()) out.push(...sources(rel))
    else if (e.name.endsWith('.ts')) out.push(rel)
  }
  return out
}

const texts = (Object.entries(messages) as [string, unknown][]).filter((e): e is [string, string] => typeof e[1] === 'string')

describe('core/messages.ts', () => {
  it('holds each message text once', () => {
    const byText = new Map<string, string>()
    for (const [name, text] of texts) {
      expect(byText.get(text), `${name} repeats ${byText.get(text)}`).toBeUndefined()
      byText.set(text, name)
    }
    expect(texts.length).toBeGreaterThan(20)
  })

  it('is the only source file that writes a message text out', () => {
    const files = SOURCE_DIRS.flatMap(sources).filter((f) => f !== join('core', 'messages.ts'))
    const offenders: string[] = []
    for (const f of files) {
      const src = readFileSync(join(ROOT, f), 'utf8')
      for (const [name, text] of texts) {
        for (const q of ["'", '"', '`']) if (src.includes(`${q}${text}${q}`)) offenders.push(`${f}: ${name}`)
      }
    }
    expect(offenders).toEqual([])
  })

  it('no fixed message written beside a code appears twice: a repeated text belongs in core/messages.ts', () => {
    const seen = new Map<string, string>()
    const repeated: string[] = []
    for (const f of SOURCE_DIRS.flatMap(sources)) {
      const src = readFileSync(join(ROOT, f), 'utf8')
      for (const m of src.matchAll(/'ERR_[A-Z0-9_]+',\s*(?:'([^'\n]+)'|`([^`$\n]+)`)/g)) {
        const text = (m[1] ?? m[2])!
        const where = seen.get(text)
        if (where !== undefined) repeated.push(`${text} (${where}, ${f})`)
        seen.set(text, f)
      }
    }
    expect(seen.size).toBeGreaterThan(20)
    expect(repeated).toEqual([])
  })

  it('keeps the seed texts the agents and end-to-end tests quote', () => {
    expect(messages.DEVID_CHAIN_FAILED).toBe('verify DevID certificate chain')
    expect(messages.EK_VALIDATION_FAILED).toBe('EK validation failed')
    expect(messages.UNKNOWN_SESSION).toBe('unknown session ID')
    expect(messages.NO_POLICY_AUTHORIZES).toBe('no cluster policy authorizes the provided attestors')
    expect(messages.devIdUnsupportedHash('SHA1')).toBe('DevID public: unsupported hash algorithm SHA1: only SHA-256 is supported')
    expect(messages.badEkHash(2)).toBe('allowedEKHashes[2]: expected 64-char hex SHA-256 hash')
  })
})
