import { spawn } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { main } from '../../../cli/main.ts'
import { writeServerFiles } from '../../e2e/setup.ts'

const ROOT = resolve(import.meta.dirname, '../../..')

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

  it('writes only JSON lines to stdout, the URL in the "Server listening" line (a real process, stopped by SIGTERM)', async () => {
    const files = writeServerFiles()
    const child = spawn(process.execPath, [join(ROOT, 'bin/vouch.mjs'), 'server', '--config', files.configPath], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    })
    let stdout = ''
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => void (stderr += d.toString()))
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)))
    await new Promise<void>((listening, failed) => {
      child.stdout.on('data', (d: Buffer) => {
        stdout += d.toString()
        if (stdout.includes('"msg":"Server listening"')) listening()
      })
      child.once('exit', () => failed(new Error(`server exited: ${stdout}${stderr}`)))
    })
    child.kill('SIGTERM')
    expect(await exited).toBe(0)
    const lines = stdout.trimEnd().split('\n')
    const entries = lines.map((l) => JSON.parse(l) as { time: string; level: string; msg: string; url?: string })
    for (const e of entries) expect(Object.keys(e).slice(0, 3)).toEqual(['time', 'level', 'msg'])
    expect(entries.find((e) => e.msg === 'Server listening')?.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    expect(stderr).toBe('')
  }, 30_000)
})
