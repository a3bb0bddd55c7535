// A replica that takes the answer and dies before replying: `vouch agent --once` on a live swtpm
// (tpm_ek) with `servers: [A, B]`, where A is a proxy in front of the real server B that passes the
// start through, passes the answer through too (B burns the session and issues an SVID), then cuts
// the agent's connection instead of replying. The agent takes its answer to B, which says "unknown
// session ID" (the session is burned), so it starts over once and completes through B.
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { main } from '../../cli/main.ts'
import type { RunningServer } from '../../server/entry/node.ts'
import { startSwtpm, type Swtpm } from '../support/swtpm.ts'
import { capture, startPolicyServer } from './harness.ts'

let tpm: Swtpm
let dir: string
let server: RunningServer
let proxy: Server
let proxyUrl: string
const seen: string[] = []

beforeAll(async () => {
  tpm = await startSwtpm({ name: 'failover-session' })
  dir = await mkdtemp(join(tmpdir(), 'vouch-failover-session-'))
  server = await startPolicyServer(
    dir,
    [{ name: 'ek', requiredAttestors: [{ type: 'tpm_ek', config: { endorsementCACerts: tpm.ekCa.rootPem + tpm.ekCa.intermediatePem } }] }],
    { tls: false },
  )
  const target = new URL(server.url)
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      seen.push(req.url ?? '')
      const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
        const body: Buffer[] = []
        r.on('data', (c: Buffer) => body.push(c))
        r.on('end', () => {
          // the answer reached B and was taken; "A" dies before its reply
          if (req.url?.endsWith('/answer')) return void res.socket?.destroy()
          res.writeHead(r.statusCode ?? 502, { 'content-type': 'application/json' })
          res.end(Buffer.concat(body))
        })
      })
      up.end(Buffer.concat(chunks))
    })
  })
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r))
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
}, 60_000)

afterAll(async () => {
  await new Promise((r) => proxy?.close(r))
  await server?.close()
  await tpm?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('agent failover after the answer was taken', () => {
  it('the next server does not know the burned session: the agent starts over once and completes there', async () => {
    const cfg = join(dir, 'agent.yaml')
    await writeFile(
      cfg,
      stringify({
        agent: {
          servers: [proxyUrl, server.url],
          insecureHttp: true,
          trustBundlePath: join(dir, 'server', 'ca', 'ca.pem'),
          tpm: tpm.tcti,
          svidDir: join(dir, 'svid'),
          attestors: [{ type: 'tpm_ek' }],
        },
      }),
    )
    const io = capture()
    expect(await main(['agent', '--config', cfg, '--once'], io), io.errs.join('\n')).toBe(0)
    const logs = io.errs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>)
    const moved = logs.filter((l) => l.msg === 'Server unavailable, trying the next')
    expect(moved).toMatchObject([{ request: 'answer', server: proxyUrl, next: server.url }])
    expect(logs.filter((l) => l.msg === 'Session unknown after a failover: attesting again')).toMatchObject([
      { startedOn: proxyUrl, server: server.url },
    ])
    expect(JSON.parse(io.outs[0]!)).toMatchObject({ server: server.url })
    // through "A": one start and the answer B took; then a new start and answer on B directly
    expect(seen.map((u) => u.replace(/\/v1\/attest\/[^/]+\/answer$/, '/v1/attest/ID/answer'))).toEqual([
      '/v1/attest',
      '/v1/attest/ID/answer',
    ])
    // B issued two SVIDs: the one lost with "A", and the one the agent wrote
    expect((await server.server.registry.list()).map((a) => a.attestations)).toEqual([2])
  })
})
