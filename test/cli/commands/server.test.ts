import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../../cli/main.ts'

async function run(argv: string[]) {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) })
  return { code, out, err }
}

describe('vouch server (argument and config errors; the running server is tested in test/e2e)', () => {
  it('exits 2 naming the config key at fault, or the missing option', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vouch-cli-server-'))
    const config = join(dir, 'server.yaml')
    writeFileSync(config, 'trustDomain: example.org\ndataDir: /tmp/x\npolicy: /tmp/p\nsvidTtl: soon\n')
    const bad = await run(['server', '--config', config])
    expect(bad.code).toBe(2)
    expect(bad.err[0]).toMatch(/^vouch server: config svidTtl: expected a positive duration/)
    expect((await run(['server'])).err[0]).toMatch(/--config is required/)
    expect((await run(['server', '--config', config, 'extra'])).code).toBe(2)
  })

  it('an invalid policy file stops the start with the policy error (exit 1)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vouch-cli-server-'))
    const policy = join(dir, 'policy.yaml')
    writeFileSync(
      policy,
      'section: AgentAttestation\nschema: v1\nspec:\n  policies:\n  - name: p\n    requiredAttestors:\n    - type: tpm_devid\n      config: {}\n',
    )
    const config = join(dir, 'server.yaml')
    writeFileSync(config, `trustDomain: example.org\nlisten: "127.0.0.1:0"\ndataDir: ${join(dir, 'data')}\npolicy: ${policy}\ntls: false\n`)
    const r = await run(['server', '--config', config])
    expect(r.code).toBe(1)
    expect(r.err[0]).toMatch(/ERR_POLICY_INVALID: devIDCACerts is required/)
  })
})
