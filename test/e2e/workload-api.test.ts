/**
 * Workload identities end to end on swtpm: a DevID provisioned in a live swtpm (`vouch devid
 * provision`), a vouch server in-process (TLS, a tpm_devid policy), `vouch agent` as a child process
 * with a `workloadApi` block, registration entries made with `vouch entry create`, and workload
 * processes spawned as other Unix users talking to the agent socket through the `vouch/workload`
 * client: the entry's uid gets its X.509-SVID and `nobody` PermissionDenied; two workloads do mTLS
 * with the TLS helpers; a renewal reaches an open stream before the old SVID expires; a JWT-SVID
 * from the API verifies against the server's bundle and its OIDC JWKS.
 *
 * Needs root (to run processes as other users, and for the agent to read their /proc entries).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { main } from '../../cli/main.ts'
import { parsePublicJwk } from '../../core/svid/jwk.ts'
import { JwtBundle } from '../../core/svid/jwt-bundle.ts'
import { verifyJwtSvid } from '../../core/svid/jwt-svid.ts'
import { parseSpiffeBundle } from '../../core/svid/spiffe-bundle.ts'
import { verifyX509Svid } from '../../core/svid/x509-svid.ts'
import { parseServerConfig } from '../../server/config.ts'
import { type RunningServer, startNodeServer } from '../../server/entry/node.ts'
import { capture, devidPolicy, makeDevIdCa, provisionDevId } from '../agent/harness.ts'
import { startSwtpm, type Swtpm } from '../support/swtpm.ts'
import { caFetch } from './spawn-server.ts'

const ROOT = resolve(import.meta.dirname, '../..')
const WORKLOAD = join(ROOT, 'test/e2e/workload-api/workload.ts')
const isRoot = process.getuid?.() === 0
/** the Unix users of the two workloads (no passwd entry needed), and one no entry names */
const WEB_UID = 23_101
const CLIENT_UID = 23_102
const NOBODY = 65_534
/** the web SVID lives 20 s (30 s with the server's 10 s back-dating): renewed 5 s after issuance */
const WEB_TTL = 20

let tpm: Swtpm
let dir: string
let server: RunningServer
let caPem: string
let agent: ChildProcess | undefined
let socketPath: string
let agentId: string
const agentLogs: Record<string, unknown>[] = []
const children = new Set<ChildProcess>()

/** The agent's JSON log lines, waited for. */
async function agentLog(match: (l: Record<string, unknown>) => boolean, what: string, ms = 30_000): Promise<Record<string, unknown>> {
  const until = Date.now() + ms
  for (;;) {
    const l = agentLogs.find(match)
    if (l) return l
    if (Date.now() > until) throw new Error(`agent: no ${what} in ${ms} ms; logs: ${JSON.stringify(agentLogs.slice(-20))}`)
    if (agent?.exitCode !== null && agent?.exitCode !== undefined)
      throw new Error(`agent exited ${agent.exitCode}: ${JSON.stringify(agentLogs.slice(-20))}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

interface Workload {
  readonly proc: ChildProcess
  readonly lines: Record<string, unknown>[]
  /** waits for the nth JSON line (0-based) */
  line(n: number, ms?: number): Promise<Record<string, unknown>>
  exited: Promise<number | null>
}

/** A workload process running as `uid`, with the agent socket in SPIFFE_ENDPOINT_SOCKET. */
function workload(uid: number, ...args: string[]): Workload {
  const proc = spawn(process.execPath, ['--import', 'tsx', WORKLOAD, ...args], {
    cwd: ROOT,
    uid,
    gid: uid,
    env: { PATH: process.env.PATH, HOME: '/tmp', SPIFFE_ENDPOINT_SOCKET: `unix://${socketPath}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  children.add(proc)
  const lines: Record<string, unknown>[] = []
  let buf = ''
  let err = ''
  proc.stdout!.on('data', (d: Buffer) => {
    buf += d.toString()
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      if (line.startsWith('{')) lines.push(JSON.parse(line) as Record<string, unknown>)
    }
  })
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString()
  })
  const exited = new Promise<number | null>((r) =>
    proc.once('exit', (code) => {
      children.delete(proc)
      r(code)
    }),
  )
  return {
    proc,
    lines,
    exited,
    async line(n, ms = 20_000) {
      const until = Date.now() + ms
      while (lines.length <= n) {
        if (Date.now() > until || proc.exitCode !== null)
          throw new Error(`workload ${args.join(' ')} (uid ${uid}): no line ${n}; exit ${proc.exitCode}; stderr: ${err.slice(-2000)}`)
        await new Promise((r) => setTimeout(r, 50))
      }
      return lines[n]!
    },
  }
}

async function entry(spiffeId: string, selector: string, ...extra: string[]): Promise<string> {
  const io = capture()
  const code = await main(
    [
      'entry',
      'create',
      '--server-config',
      join(dir, 'server.yaml'),
      '--output',
      'json',
      '--spiffe-id',
      spiffeId,
      '--parent',
      agentId,
      '--selector',
      selector,
      ...extra,
    ],
    io,
  )
  expect(code, io.errs.join('\n')).toBe(0)
  const id = (JSON.parse(io.outs[0]!) as { id: string }).id
  // the agent refreshes its entries every second
  await agentLog((l) => l.msg === 'Workload SVID issued' && l.entryId === id, `SVID for entry ${id}`)
  return id
}

const serverJson = async (path: string) => (await caFetch(caPem)(`${server.url}${path}`)).text()

beforeAll(async () => {
  if (!isRoot) return
  tpm = await startSwtpm({ name: 'workload-api' })
  dir = await mkdtemp(join(tmpdir(), 'vouch-workload-api-'))
  // the workloads, other users, reach the socket below it
  await chmod(dir, 0o755)
  // a DevID CA and a DevID in the TPM
  const caDer = await makeDevIdCa(dir, 'vouch workload test DevID CA', 'devid-ca')
  await provisionDevId(tpm.tcti, dir, { keyType: 'ecc', subjectCn: 'workload-node', ca: 'devid-ca' })

  // the server: TLS, a tpm_devid policy trusting that CA and swtpm's EK CA
  await writeFile(
    join(dir, 'policy.yaml'),
    stringify({
      section: 'AgentAttestation',
      schema: 'v1',
      spec: {
        policies: [devidPolicy(caDer, tpm.ekCa)],
      },
    }),
  )
  const serverYaml = stringify({
    trustDomain: 'example.org',
    listen: '127.0.0.1:0',
    dataDir: join(dir, 'server'),
    policy: join(dir, 'policy.yaml'),
    tls: true,
  })
  await writeFile(join(dir, 'server.yaml'), serverYaml)
  server = await startNodeServer(parseServerConfig(serverYaml, {}), { write: () => {} })
  caPem = await readFile(join(dir, 'server', 'ca', 'ca.pem'), 'utf8')

  // the agent, with the Workload API on a socket in the test's directory
  socketPath = join(dir, 'run', 'agent.sock')
  await writeFile(
    join(dir, 'agent.yaml'),
    stringify({
      agent: {
        server: server.url,
        trustBundlePath: join(dir, 'server', 'ca', 'ca.pem'),
        tpm: tpm.tcti,
        tpmBridge: 'pure',
        svidDir: join(dir, 'svid'),
        logLevel: 'debug',
        attestors: [
          {
            type: 'tpm_devid',
            config: {
              devIDCertPath: join(dir, 'devid', 'devid.pem'),
              devIDPubPath: join(dir, 'devid', 'devid.pub'),
              devIDPrivPath: join(dir, 'devid', 'devid.priv'),
            },
          },
        ],
        workloadApi: { socketPath, refreshIntervalSeconds: 1 },
      },
    }),
  )
  agent = spawn(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'test/e2e/workload-api/vouch.ts'), 'agent', '--config', join(dir, 'agent.yaml')],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let buf = ''
  agent.stderr!.on('data', (d: Buffer) => {
    buf += d.toString()
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      if (line.startsWith('{')) agentLogs.push(JSON.parse(line) as Record<string, unknown>)
    }
  })
  agentId = (await agentLog((l) => l.msg === 'SVID written', 'attestation')).spiffeId as string
  await agentLog((l) => l.msg === 'Workload API listening', 'Workload API')
}, 120_000)

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL')
  if (agent && agent.exitCode === null) {
    const exited = new Promise((r) => agent!.once('exit', r))
    agent.kill('SIGTERM')
    await exited
  }
  await server?.close()
  await tpm?.stop()
  if (dir && !process.env.VOUCH_KEEP) await rm(dir, { recursive: true, force: true })
})

describe.skipIf(!isRoot)('the Workload API of `vouch agent` on swtpm (needs root: runs workloads as other users)', () => {
  const ids = { web: '', client: '' }

  it('the node attested with tpm_devid; a process running as the entry uid gets its X.509-SVID, chaining to the server bundle', async () => {
    expect(agentId).toMatch(/^spiffe:\/\/example\.org\/agent\/tpm_devid\//)
    ids.web = await entry('spiffe://example.org/web', `unix:uid:${WEB_UID}`, '--x509-ttl', String(WEB_TTL), '--dns', 'web.example.org')
    ids.client = await entry('spiffe://example.org/client', `unix:uid:${CLIENT_UID}`, '--jwt-ttl', '120')
    const w = workload(WEB_UID, 'x509')
    const got = await w.line(0)
    expect(await w.exited).toBe(0)
    expect(got.spiffeId).toBe('spiffe://example.org/web')
    const bundle = parseSpiffeBundle('example.org', await serverJson('/v1/bundle'))
    const chain = (got.chain as string[]).map((b) => new Uint8Array(Buffer.from(b, 'base64')))
    expect((await verifyX509Svid(chain, bundle)).id.toString()).toBe('spiffe://example.org/web')
  })

  it('a process running as nobody (no entry) gets PermissionDenied', async () => {
    const w = workload(NOBODY, 'denied')
    const got = await w.line(0)
    expect(got).toMatchObject({ grpcStatus: 7, code: 'ERR_WORKLOAD_STATUS' })
    expect(got.message).toMatch(/no registration entry matches the calling workload/)
    expect(await w.exited).toBe(0)
  })

  it('two workloads do mTLS with their SVIDs through the TLS helpers, each verifying the other SPIFFE ID', async () => {
    const web = workload(WEB_UID, 'serve', 'spiffe://example.org/client')
    const { port } = (await web.line(0)) as { port: number }
    const client = workload(CLIENT_UID, 'connect', String(port), 'spiffe://example.org/web')
    expect(await client.line(0)).toEqual({ peer: 'spiffe://example.org/web', said: 'hello spiffe://example.org/client' })
    expect(await web.line(1)).toEqual({ peer: 'spiffe://example.org/client', said: 'hello spiffe://example.org/client' })
    expect(await client.exited).toBe(0)
    expect(await web.exited).toBe(0)
    // the client refuses a server that is not the ID it expects
    const other = workload(WEB_UID, 'serve', 'spiffe://example.org/client')
    const { port: port2 } = (await other.line(0)) as { port: number }
    const wrong = workload(CLIENT_UID, 'connect', String(port2), 'spiffe://example.org/not-web')
    expect((await wrong.line(0)).refused).toMatch(/spiffe:\/\/example\.org\/web/)
    expect(await wrong.exited).toBe(0)
    other.proc.kill('SIGKILL')
    // and the server refuses a client that is not the ID it authorizes: it closes before any answer
    const strict = workload(WEB_UID, 'serve', 'spiffe://example.org/someone-else')
    const { port: port3 } = (await strict.line(0)) as { port: number }
    const refusedClient = workload(CLIENT_UID, 'connect', String(port3), 'spiffe://example.org/web')
    expect((await strict.line(1)).refused).toMatch(/spiffe:\/\/example\.org\/client/)
    expect(await refusedClient.line(0)).toEqual({ peer: 'spiffe://example.org/web', said: null })
    expect(await refusedClient.exited).toBe(0)
    strict.proc.kill('SIGKILL')
  })

  it('a renewal is pushed to an open stream before the old SVID expires', async () => {
    const w = workload(WEB_UID, 'watch', '2')
    const first = await w.line(0)
    const second = await w.line(1, 20_000)
    expect(second.serial).not.toBe(first.serial)
    expect(second.at as number).toBeLessThan(first.notAfter as number)
    expect(second.notAfter as number).toBeGreaterThan(first.notAfter as number)
    expect(await w.exited).toBe(0)
  })

  it('a JWT-SVID from the API verifies with vouch against the server bundle and against the OIDC JWKS', async () => {
    const w = workload(CLIENT_UID, 'jwt', 'https://api.example.org')
    const got = await w.line(0)
    expect(await w.exited).toBe(0)
    expect(got.spiffeId).toBe('spiffe://example.org/client')
    const token = got.token as string
    const bundle = parseSpiffeBundle('example.org', await serverJson('/v1/bundle'))
    const svid = await verifyJwtSvid(token, bundle, { audience: 'https://api.example.org' })
    expect(svid.id.toString()).toBe('spiffe://example.org/client')
    expect(svid.expiry - (svid.claims.iat as number)).toBe(120)
    const discovery = JSON.parse(await serverJson('/.well-known/openid-configuration')) as { issuer: string; jwks_uri: string }
    expect(svid.claims.iss).toBe(discovery.issuer)
    const jwks = JSON.parse(await (await caFetch(caPem)(discovery.jwks_uri)).text()) as { keys: Record<string, unknown>[] }
    const oidc = new JwtBundle(
      'example.org',
      jwks.keys.map((k) => [k.kid as string, parsePublicJwk(k, 'oidc key')!] as const),
    )
    expect((await verifyJwtSvid(token, oidc, { audience: 'https://api.example.org' })).id.toString()).toBe('spiffe://example.org/client')
    await expect(verifyJwtSvid(token, oidc, { audience: 'https://other.example.org' })).rejects.toMatchObject({
      code: 'ERR_JWT_SVID_AUDIENCE',
    })
  })

  it('SIGTERM: the agent closes the Workload API (the socket is removed) and exits 0', async () => {
    expect(existsSync(socketPath)).toBe(true)
    const exited = new Promise<number | null>((r) => agent!.once('exit', (code) => r(code)))
    agent!.kill('SIGTERM')
    expect(await exited).toBe(0)
    expect(existsSync(socketPath)).toBe(false)
    expect(agentLogs.at(-1)).toMatchObject({ msg: 'Agent stopped' })
    // its log named entries and IDs, never a key or a token
    expect(agentLogs.some((l) => l.msg === 'Workload SVID issued')).toBe(true)
    expect(JSON.stringify(agentLogs)).not.toMatch(/PRIVATE KEY|BEGIN CERTIFICATE|eyJ[\w-]+\.eyJ/)
  })
})
