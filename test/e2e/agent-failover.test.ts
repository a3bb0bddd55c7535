/**
 * Two replicas of one service (two `vouch server` child processes with the same CA files, session
 * keys and PostgreSQL database, both over TLS) and a burst of `vouch agent --once` runs, each on its
 * own live swtpm (tpm_ek), each configured with `servers: [A, B]`. Replica A is killed with
 * SIGKILL as soon as the first agent has A's challenge in hand: that agent's answer fails over to
 * B, which opens the session A sealed; every other agent meets A gone and attests through B. Every
 * agent completes, and B answered every one of them.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { main } from '../../cli/main.ts'
import { createNodePlatform } from '../../runtimes/node/index.ts'
import { ServerCa } from '../../server/ca/authority.ts'
import { capture } from '../agent/harness.ts'
import { postgresMissing, startPostgres, type TestPostgres } from '../support/postgres.ts'
import { startSwtpm, type Swtpm } from '../support/swtpm.ts'
import { writeServerFiles } from './setup.ts'
import { spawnServer, type Child } from './spawn-server.ts'

const AGENTS = 4
const missing = postgresMissing()
let pg: TestPostgres | undefined
let tpms: Swtpm[] = []
let a: Child | undefined
let b: Child | undefined
let dir: string
let serverDirs: string[] = []

describe.skipIf(missing)('e2e: agents fail over from a replica killed mid-burst', () => {
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vouch-failover-'))
    pg = await startPostgres()
    tpms = await Promise.all(Array.from({ length: AGENTS }, (_, i) => startSwtpm({ name: `failover-${i}` })))
    const url = await pg.createDatabase('vouch_failover')
    // what every replica of the service shares: the CA files, the session keys, the database
    const { files: ca } = await ServerCa.create('example.org', createNodePlatform(), globalThis.crypto.subtle)
    writeFileSync(join(dir, 'ca.pem'), ca.certificatePem)
    writeFileSync(join(dir, 'ca.key'), ca.privateKeyPem, { mode: 0o600 })
    writeFileSync(join(dir, 'keys.yaml'), `- { id: k1, key: ${randomBytes(32).toString('base64')}, seal: true }\n`, { mode: 0o600 })
    const ekCa = tpms[0]!.ekCa
    const policy = {
      section: 'AgentAttestation',
      schema: 'v1',
      spec: {
        policies: [
          { name: 'ek', requiredAttestors: [{ type: 'tpm_ek', config: { endorsementCACerts: ekCa.rootPem + ekCa.intermediatePem } }] },
        ],
      },
    }
    const extra = `database: ${url}\nsessionKeys: ${join(dir, 'keys.yaml')}\nca: { certFile: ${join(dir, 'ca.pem')}, keyFile: ${join(dir, 'ca.key')} }\n`
    const replicas = [writeServerFiles({ tls: true, policy, extra }), writeServerFiles({ tls: true, policy, extra })]
    serverDirs = replicas.map((r) => r.dir)
    ;[a, b] = await Promise.all(replicas.map((r) => spawnServer('node', r.configPath)))
  }, 120_000)
  afterAll(async () => {
    await Promise.all([a?.kill('SIGKILL'), b?.kill('SIGKILL')])
    await Promise.all(tpms.map((t) => t.stop()))
    pg?.stop()
    for (const d of [dir, ...serverDirs]) if (d) rmSync(d, { recursive: true, force: true })
  })

  it('every agent completes through B', async () => {
    const runs = tpms.map((tpm, i) => {
      const cfg = join(dir, `agent-${i}.yaml`)
      writeFileSync(
        cfg,
        stringify({
          agent: {
            servers: [a!.url, b!.url],
            trustBundlePath: join(dir, 'ca.pem'),
            tpm: tpm.tcti,
            svidDir: join(dir, `svid-${i}`),
            attestors: [{ type: 'tpm_ek' }],
          },
        }),
      )
      const io = capture()
      return { io, done: main(['agent', '--config', cfg, '--once'], io) }
    })
    const logs = (i: number) => runs[i]!.io.errs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
    // kill A as soon as one agent holds a challenge A sealed
    let first = -1
    const deadline = Date.now() + 20_000
    while (first < 0 && Date.now() < deadline) {
      first = runs.findIndex((_, i) => logs(i).some((l) => l.msg === 'Connected to server' && l.server === a!.url))
      if (first < 0) await new Promise((r) => setTimeout(r, 2))
    }
    expect(first, 'no agent got a challenge from A').toBeGreaterThanOrEqual(0)
    await a!.kill('SIGKILL')

    const codes = await Promise.all(runs.map((r) => r.done))
    expect(codes, runs.map((r) => r.io.errs.join('\n')).join('\n---\n')).toEqual(Array(AGENTS).fill(0))
    const summaries = runs.map((r) => JSON.parse(r.io.outs[0]!) as { server: string; spiffeId: string })
    expect(summaries.map((s) => s.server)).toEqual(Array(AGENTS).fill(b!.url))
    expect(new Set(summaries.map((s) => s.spiffeId)).size).toBe(AGENTS)
    // the agent that held A's challenge took its answer to B, which opened A's sealed session
    const moved = logs(first).filter((l) => l.msg === 'Server unavailable, trying the next')
    expect(moved[0]).toMatchObject({ request: 'answer', server: a!.url, next: b!.url })
    expect(logs(first).some((l) => l.msg === 'Session unknown after a failover: attesting again')).toBe(false)
    // every agent found A gone at some point and none was refused
    for (let i = 0; i < AGENTS; i++) expect(logs(i).some((l) => l.msg === 'Server unavailable, trying the next')).toBe(true)
  }, 60_000)
})
