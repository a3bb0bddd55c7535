import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { main } from '../../cli/main.ts'

const dir = mkdtempSync(join(tmpdir(), 'vouch-cli-policy-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const V = join(import.meta.dirname, '../vectors/swtpm')
const indent = (pem: string) =>
  pem
    .trim()
    .split('\n')
    .map((l) => '          ' + l)
    .join('\n')
const devidRoot = indent(readFileSync(join(V, 'devid-ca/root.pem'), 'utf8'))
const ekRoot = indent(readFileSync(join(V, 'ek-ca/swtpm-localca-rootca-cert.pem'), 'utf8'))

async function run(...argv: string[]) {
  const out: string[] = []
  const err: string[] = []
  const code = await main(['policy', 'check', ...argv], { out: (l) => out.push(l), err: (l) => err.push(l) })
  return { code, out, err }
}

function file(name: string, text: string): string {
  const p = join(dir, name)
  writeFileSync(p, text)
  return p
}

const GOOD = `section: AgentAttestation
schema: v1
spec:
  policies:
  - name: tpm_devid_policy
    requiredAttestors:
    - type: tpm_devid
      config:
        devIDCACerts: |
${devidRoot}
        endorsementCACerts: |
${ekRoot}
        allowedEKHashes:
        - "0e09c2d1b430e3240e09c2d1b430e3240e09c2d1b430e3240e09c2d1b430e324"
`

describe('vouch policy check', () => {
  it("accepts the seed's YAML document (exit 0)", async () => {
    const r = await run(file('good.yaml', GOOD))
    expect(r.code).toBe(0)
    expect(r.out).toEqual(['ok: 1 policy'])
  })

  it('prints every error with its path and exits 1', async () => {
    const bad = `section: AgentAttestation
schema: v1
spec:
  policies:
  - name: p
    requiredAttestors:
    - type: tpm_devid
      config:
        allowedEKHashes: ["zz", "${'a'.repeat(64)}"]
        colour: blue
`
    const r = await run(file('bad.yaml', bad))
    expect(r.code).toBe(1)
    expect(r.out).toEqual([
      'spec.policies[0].requiredAttestors[0].config.colour: unknown key "colour"; expected one of devIDCACerts, endorsementCACerts, allowedEKHashes, tolerate, boot',
      'spec.policies[0].requiredAttestors[0].config: devIDCACerts is required',
      'spec.policies[0].requiredAttestors[0].config.allowedEKHashes[0]: allowedEKHashes[0]: expected 64-char hex SHA-256 hash',
    ])
  })

  it('reports JSON with --output json', async () => {
    const r = await run(
      '--output',
      'json',
      file(
        'ek.yaml',
        'section: AgentAttestation\nschema: v1\nspec:\n  policies:\n  - name: ek\n    requiredAttestors:\n    - type: tpm_ek\n      config: {}\n',
      ),
    )
    expect(r.code).toBe(1)
    expect(JSON.parse(r.out[0]!)).toEqual({
      valid: false,
      policies: 0,
      errors: [
        {
          path: 'spec.policies[0].requiredAttestors[0].config',
          message: 'at least one of endorsementCACerts or allowedEKHashes must be set',
        },
      ],
    })
  })

  it('reports a YAML syntax error as invalid (exit 1) and a missing file as a usage error (exit 2)', async () => {
    const r = await run(file('broken.yaml', 'section: [unclosed\n'))
    expect(r.code).toBe(1)
    expect(r.out[0]).toMatch(/^\$: yaml: /)
    expect((await run(join(dir, 'nope.yaml'))).code).toBe(2)
    expect((await run()).code).toBe(2)
  })
})
