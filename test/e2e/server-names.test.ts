/**
 * `serverNames`: the listener certificate names the names a load balancer gives the service, next to
 * the listen host. Two Node servers listen on all interfaces (0.0.0.0, so 127.0.0.2 reaches them as
 * a load balancer's address would): one with `serverNames: [127.0.0.2, vouch-lb.example.net]`, one
 * without. A real `vouch agent --once` (live swtpm, tpm_ek) configured with `https://127.0.0.2:<port>`
 * attests through the first and fails the TLS name check on the second; a TLS client sending
 * `vouch-lb.example.net` (SNI and name check, as one that resolved the balancer's name would) is
 * authorized by the first only. A renewed listener certificate keeps the names.
 */
import { X509Certificate } from 'node:crypto'
import { existsSync, readFileSync } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkServerIdentity, connect } from 'node:tls'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import type { Io } from '../../cli/command.ts'
import { main } from '../../cli/main.ts'
import { withPlatform } from '../../core/platform.ts'
import { createNodePlatform } from '../../runtimes/node/index.ts'
import { parseServerConfig } from '../../server/config.ts'
import { startNodeServer, type RunningServer } from '../../server/entry/node.ts'
import { startSwtpm, type Swtpm } from '../support/swtpm.ts'

const LB_NAME = 'vouch-lb.example.net'
const LB_ADDRESS = '127.0.0.2'

let tpm: Swtpm
let dir: string
let named: RunningServer
let unnamed: RunningServer
const clock = { offset: 0 }
function capture(): Io & { outs: string[]; errs: string[] } {
  const outs: string[] = []
  const errs: string[] = []
  return { outs, errs, out: (l) => outs.push(l), err: (l) => errs.push(l) }
}

async function server(name: string, serverNames?: string[]): Promise<RunningServer> {
  const policy = join(dir, `${name}-policy.yaml`)
  const config = { endorsementCACerts: tpm.ekCa.rootPem + tpm.ekCa.intermediatePem }
  await writeFile(
    policy,
    stringify({
      section: 'AgentAttestation',
      schema: 'v1',
      spec: { policies: [{ name: 'ek', requiredAttestors: [{ type: 'tpm_ek', config }] }] },
    }),
  )
  const cfg = parseServerConfig(
    stringify({
      trustDomain: 'example.org',
      listen: '0.0.0.0:0',
      dataDir: join(dir, name),
      policy,
      tls: true,
      tlsCertTtl: '1h',
      tlsRenewBefore: '20m',
      ...(serverNames ? { serverNames } : {}),
    }),
  )
  const platform = withPlatform({ now: () => Date.now() + clock.offset }, createNodePlatform())
  return startNodeServer(cfg, { platform, write: () => {} })
}

const port = (s: RunningServer) => new URL(s.url).port
const caPem = (name: string) => readFileSync(join(dir, name, 'ca', 'ca.pem'), 'utf8')

async function agent(name: string, url: string, trustBundlePath: string) {
  const cfg = join(dir, `${name}.yaml`)
  const svidDir = join(dir, `svid-${name}`)
  await writeFile(cfg, stringify({ agent: { server: url, tpm: tpm.tcti, svidDir, trustBundlePath, attestors: [{ type: 'tpm_ek' }] } }))
  const io = capture()
  const code = await main(['agent', '--config', cfg, '--once'], io)
  return { code, io, svidWritten: existsSync(join(svidDir, 'svid.pem')) }
}

/** A TLS handshake to 127.0.0.1 that asks for, and checks the certificate against, `servername`. */
function handshake(
  s: RunningServer,
  name: string,
  servername: string,
): Promise<{ authorized: boolean; error?: string; leaf: X509Certificate }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port: Number(port(s)), servername, ca: caPem(name), rejectUnauthorized: false }, () => {
      const peer = socket.getPeerCertificate()
      // tls.connect ran the chain check, then checkServerIdentity(servername); the latter again for its message
      const e = socket.authorized ? undefined : checkServerIdentity(servername, peer)
      const error = socket.authorized
        ? undefined
        : e
          ? `${(e as NodeJS.ErrnoException).code}: ${e.message}`
          : String(socket.authorizationError)
      resolve({ authorized: socket.authorized, ...(error ? { error } : {}), leaf: new X509Certificate(peer.raw) })
      socket.end()
    })
    socket.on('error', reject)
  })
}

beforeAll(async () => {
  tpm = await startSwtpm({ name: 'server-names' })
  dir = await mkdtemp(join(tmpdir(), 'vouch-server-names-'))
  ;[named, unnamed] = await Promise.all([server('named', [LB_ADDRESS, LB_NAME]), server('unnamed')])
}, 60_000)

afterAll(async () => {
  await Promise.all([named?.close(), unnamed?.close()])
  await tpm?.stop()
  if (dir) await rm(dir, { recursive: true, force: true })
})

describe('serverNames in the listener certificate', () => {
  it('the certificate names the listen host and every server name', async () => {
    const { leaf } = await handshake(named, 'named', LB_NAME)
    expect(leaf.subjectAltName).toBe(`DNS:localhost, DNS:${LB_NAME}, IP Address:127.0.0.1, IP Address:${LB_ADDRESS}`)
    expect((await handshake(unnamed, 'unnamed', LB_NAME)).leaf.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1')
  })

  it(`a vouch agent dialing https://${LB_ADDRESS} attests when the name is there, and fails the TLS name check when not`, async () => {
    const ok = await agent('lb-address', `https://${LB_ADDRESS}:${port(named)}`, join(dir, 'named', 'ca', 'ca.pem'))
    expect(ok.code, ok.io.errs.join('\n')).toBe(0)
    expect(ok.svidWritten).toBe(true)
    const refused = await agent('lb-address-unnamed', `https://${LB_ADDRESS}:${port(unnamed)}`, join(dir, 'unnamed', 'ca', 'ca.pem'))
    expect(refused.code).toBe(1)
    expect(refused.io.errs.join('\n')).toContain(
      `Hostname/IP does not match certificate's altnames: IP: ${LB_ADDRESS} is not in the cert's list`,
    )
    expect(refused.svidWritten).toBe(false)
  }, 60_000)

  it(`a TLS client checking the DNS name ${LB_NAME} is authorized by the server that lists it only`, async () => {
    expect(await handshake(named, 'named', LB_NAME)).toMatchObject({ authorized: true })
    const other = await handshake(unnamed, 'unnamed', LB_NAME)
    expect(other.authorized).toBe(false)
    expect(other.error).toBe(
      `ERR_TLS_CERT_ALTNAME_INVALID: Hostname/IP does not match certificate's altnames: Host: ${LB_NAME}. is not in the cert's altnames: DNS:localhost, IP Address:127.0.0.1`,
    )
  })

  it('a renewed listener certificate keeps the names', async () => {
    const before = (await handshake(named, 'named', LB_NAME)).leaf
    clock.offset = 45 * 60_000
    await named.server.maintain()
    const after = (await handshake(named, 'named', LB_NAME)).leaf
    expect(after.serialNumber).not.toBe(before.serialNumber)
    expect(after.subjectAltName).toBe(before.subjectAltName)
    expect(after.checkIP(LB_ADDRESS)).toBe(LB_ADDRESS)
    expect(after.checkHost(LB_NAME)).toBe(LB_NAME)
  })
})
