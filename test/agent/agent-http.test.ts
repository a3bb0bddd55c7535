// The agent's transport rules on a live swtpm (tpm_ek attestor) against real Node servers:
// http:// is refused with a clear error unless --insecure-http / agent.insecureHttp, which then
// warns on every attestation; a rewriting proxy's bundle is refused and nothing is written; after
// a server CA rotation an agent that trusts only the old root still attests over TLS (cross
// certificate) and takes the new root into its bundle.
import { createHash } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import type { Io } from '../../cli/command.ts'
import { main } from '../../cli/main.ts'
import { withPlatform } from '../../core/platform.ts'
import { ServerCa } from '../../server/ca/authority.ts'
import { parseServerConfig } from '../../server/config.ts'
import { startNodeServer, type RunningServer } from '../../server/entry/node.ts'
import { startSwtpm, type Swtpm } from '../support/swtpm.ts'

let tpm: Swtpm
let dir: string
let plain: RunningServer
let tls: RunningServer
let proxy: Server | undefined

function capture(): Io & { outs: string[]; errs: string[]; logs: () => Record<string, unknown>[] } {
  const outs: string[] = []
  const errs: string[] = []
  return {
    outs,
    errs,
    out: (l) => outs.push(l),
    err: (l) => errs.push(l),
    logs: () => errs.filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>),
  }
}

async function server(name: string, withTls: boolean): Promise<RunningServer> {
  const policyPath = join(dir, `${name}-policy.yaml`)
  await writeFile(
    policyPath,
    stringify({
      section: 'AgentAttestation',
      schema: 'v1',
      spec: {
        policies: [
          {
            name: 'ek',
            requiredAttestors: [{ type: 'tpm_ek', config: { endorsementCACerts: tpm.ekCa.rootPem + tpm.ekCa.intermediatePem } }],
          },
        ],
      },
    }),
  )
  const cfg = parseServerConfig(
    stringify({ trustDomain: 'example.org', listen: '127.0.0.1:0', dataDir: join(dir, name), policy: policyPath, tls: withTls }),
  )
  return startNodeServer(cfg, { write: () => {} })
}

async function agentConfig(name: string, serverUrl: string, extra: Record<string, unknown> = {}): Promise<string> {
  const p = join(dir, `${name}.yaml`)
  await writeFile(
    p,
    stringify({
      agent: { server: serverUrl, tpm: tpm.tcti, svidDir: join(dir, `svid-${name}`), attestors: [{ type: 'tpm_ek' }], ...extra },
    }),
  )
  return p
}

beforeAll(async () => {
  tpm = await startSwtpm({ name: 'agent-http' })
  dir = await mkdtemp(join(tmpdir(), 'vouch-agent-http-'))
  ;[plain, tls] = await Promise.all([server('plain', false), server('tls', true)])
}, 60_000)

afterAll(async () => {
  await new Promise<void>((r) => (proxy ? proxy.close(() => r()) : r()))
  await Promise.all([plain?.close(), tls?.close()])
  await tpm?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

const hash = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')

describe('agent over http://', () => {
  it('is refused with a clear error, before the TPM is touched', async () => {
    const io = capture()
    expect(await main(['agent', '--config', await agentConfig('refused', plain.url), '--once'], io)).toBe(2)
    expect(io.errs.join('\n')).toContain(`agent.server "${plain.url}" is http://`)
    expect(io.errs.join('\n')).toContain('agent.insecureHttp')
    expect(existsSync(join(dir, 'svid-refused'))).toBe(false)
  })

  it('with --insecure-http attests and warns on every attestation', async () => {
    const cfg = await agentConfig('insecure', plain.url, { trustBundlePath: join(dir, 'plain', 'ca', 'ca.pem') })
    const io = capture()
    expect(await main(['agent', '--config', cfg, '--once', '--insecure-http'], io)).toBe(0)
    expect(await main(['agent', '--config', cfg, '--once', '--insecure-http'], io)).toBe(0)
    const warnings = io.logs().filter((l) => l.level === 'warn' && String(l.msg).startsWith('Insecure HTTP'))
    expect(warnings).toHaveLength(2)
    expect(io.outs).toHaveLength(2)
  }, 30_000)

  it('agent.insecureHttp: true in the file does the same', async () => {
    const io = capture()
    const cfg = await agentConfig('insecure-key', plain.url, { insecureHttp: true, trustBundlePath: join(dir, 'plain', 'ca', 'ca.pem') })
    expect(await main(['agent', '--config', cfg, '--once'], io)).toBe(0)
    expect(io.logs().filter((l) => String(l.msg).startsWith('Insecure HTTP'))).toHaveLength(1)
  }, 30_000)

  it("a rewriting proxy's bundle is refused: nothing is written, the earlier SVID and bundle stay", async () => {
    const cfg = await agentConfig('proxied', plain.url, { insecureHttp: true, trustBundlePath: join(dir, 'plain', 'ca', 'ca.pem') })
    // first, directly: an SVID and a bundle on disk
    expect(await main(['agent', '--config', cfg, '--once'], capture())).toBe(0)
    const svidDir = join(dir, 'svid-proxied')
    const before = { svid: hash(join(svidDir, 'svid.pem')), bundle: hash(join(svidDir, 'bundle.pem')) }
    // a proxy that swaps the answer's bundle for its own CA
    const { files: fake } = await ServerCa.create('example.org', withPlatform({}), globalThis.crypto.subtle)
    const target = new URL(plain.url)
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        const up = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (r) => {
          const body: Buffer[] = []
          r.on('data', (c: Buffer) => body.push(c))
          r.on('end', () => {
            let text = Buffer.concat(body).toString()
            if (req.url?.endsWith('/answer') && r.statusCode === 200) {
              const j = JSON.parse(text) as Record<string, unknown>
              j.bundle = fake.certificatePem
              text = JSON.stringify(j)
            }
            res.writeHead(r.statusCode ?? 502, { 'content-type': 'application/json' })
            res.end(text)
          })
        })
        up.end(Buffer.concat(chunks))
      })
    })
    await new Promise<void>((r) => proxy!.listen(0, '127.0.0.1', () => r()))
    const viaProxy = await agentConfig('proxied', `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, {
      insecureHttp: true,
      trustBundlePath: join(dir, 'plain', 'ca', 'ca.pem'),
    })
    const io = capture()
    expect(await main(['agent', '--config', viaProxy, '--once'], io)).toBe(1)
    expect(io.errs.join('\n')).toContain('server bundle refused: no root of the received bundle is in the current trust')
    expect({ svid: hash(join(svidDir, 'svid.pem')), bundle: hash(join(svidDir, 'bundle.pem')) }).toEqual(before)
  }, 30_000)
})

describe('agent over https:// across a server CA rotation', () => {
  it('trusting only the old root, it attests after the rotation and writes both roots to its bundle', async () => {
    const oldRoot = readFileSync(join(dir, 'tls', 'ca', 'ca.pem'), 'utf8')
    const trust = join(dir, 'old-root.pem')
    await writeFile(trust, oldRoot)
    const cfg = await agentConfig('rotating', tls.url, { trustBundlePath: trust })
    expect(await main(['agent', '--config', cfg, '--once'], capture())).toBe(0)
    const bundlePath = join(dir, 'svid-rotating', 'bundle.pem')
    expect(readFileSync(bundlePath, 'utf8')).toBe(oldRoot)

    await tls.server.rotateCa()
    const newRoot = readFileSync(join(dir, 'tls', 'ca', 'ca.pem'), 'utf8')
    expect(newRoot).not.toBe(oldRoot)
    const io = capture()
    expect(await main(['agent', '--config', cfg, '--once'], io)).toBe(0)
    expect(io.logs().some((l) => l.msg === 'Trust bundle updated' && l.added === 1)).toBe(true)
    expect(readFileSync(bundlePath, 'utf8')).toBe(newRoot + oldRoot)
    // the SVID is the new root's, with the cross certificate after it
    const svid = readFileSync(join(dir, 'svid-rotating', 'svid.pem'), 'utf8')
    expect(svid.match(/BEGIN CERTIFICATE/g)).toHaveLength(2)
  }, 30_000)
})
