// `vouch agent --config FILE` without --once: attests, writes its SVID, then attests again at half
// the SVID lifetime (the server's reattestAfter) with a fresh key, until stopped. Run as a child
// process (bin/vouch.mjs under Node) against an in-process server issuing 4-second SVIDs.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import type { RunningServer } from '../../server/entry/node.ts'
import { startPolicyServer } from './harness.ts'
import { startSwtpm, type Swtpm } from '../support/swtpm.ts'

const ROOT = resolve(import.meta.dirname, '../..')
let tpm: Swtpm
let dir: string
let server: RunningServer
let child: ChildProcess | undefined

beforeAll(async () => {
  tpm = await startSwtpm({ name: 'agent-loop' })
  dir = await mkdtemp(join(tmpdir(), 'vouch-agent-loop-'))
  server = await startPolicyServer(
    dir,
    [
      {
        name: 'ek',
        requiredAttestors: [{ type: 'tpm_ek', config: { endorsementCACerts: tpm.ekCa.rootPem + tpm.ekCa.intermediatePem } }],
      },
    ],
    { svidTtl: '4s' },
  )
}, 60_000)

afterAll(async () => {
  if (child?.pid && child.exitCode === null) child.kill('SIGTERM')
  await server?.close()
  await tpm?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('vouch agent (no --once)', () => {
  it('re-attests at half the SVID lifetime with a new key and keeps the SVID on disk current', async () => {
    const cfg = join(dir, 'agent.yaml')
    const svidDir = join(dir, 'svid')
    await writeFile(
      cfg,
      stringify({
        agent: {
          server: server.url,
          trustBundlePath: join(dir, 'server', 'ca', 'ca.pem'),
          tpm: tpm.tcti,
          tpmBridge: 'pure',
          svidDir,
          attestors: [{ type: 'tpm_ek' }],
        },
      }),
    )
    const logs: Record<string, unknown>[] = []
    const keys: string[] = []
    const started = Date.now()
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`no second attestation in 30 s; logs: ${JSON.stringify(logs)}`)), 30_000)
      child = spawn(process.execPath, [join(ROOT, 'bin', 'vouch.mjs'), 'agent', '--config', cfg], { cwd: ROOT })
      let buf = ''
      child.stderr!.on('data', (d: Buffer) => {
        buf += d.toString()
        let nl: number
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl)
          buf = buf.slice(nl + 1)
          if (!line.startsWith('{')) continue
          const l = JSON.parse(line) as Record<string, unknown>
          logs.push(l)
          if (l.msg === 'SVID written') {
            void readFile(join(svidDir, 'svid.key.pem'), 'utf8').then((k) => {
              keys.push(k)
              if (keys.length === 2) {
                clearTimeout(timer)
                done()
              }
            })
          }
        }
      })
      child.on('exit', (code) => fail(new Error(`agent exited (${code}); logs: ${JSON.stringify(logs)}`)))
    })
    const elapsed = Date.now() - started
    const written = logs.filter((l) => l.msg === 'SVID written')
    expect(written).toHaveLength(2)
    const [first, second] = written as { expiresAt: string; reattestAfter: string; spiffeId: string }[]
    // the server's reattestAfter is halfway to expiry; the second round came after it
    const ttl = Date.parse(first!.expiresAt) - Date.parse(first!.reattestAfter)
    expect(ttl).toBeGreaterThan(1_000)
    expect(ttl).toBeLessThanOrEqual(2_100)
    expect(Date.parse(String(second!.reattestAfter))).toBeGreaterThan(Date.parse(first!.reattestAfter))
    expect(elapsed).toBeGreaterThan(1_500)
    expect(second!.spiffeId).toBe(first!.spiffeId)
    expect(keys[1]).not.toBe(keys[0]) // a fresh key each round
    expect(logs.filter((l) => l.level === 'error')).toEqual([])
    child!.kill('SIGTERM')
  }, 45_000)
})
