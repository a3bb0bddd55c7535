// A second gRPC implementation against the agent socket: Debian's python3-grpcio with stubs generated
// by python3-grpc-tools from proto/workload.proto, fetching an X.509-SVID, the bundles and a
// JWT-SVID, validating it, and being refused without the security header.
import { spawn, spawnSync } from 'node:child_process'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type WorkloadApi, startWorkloadApi } from '../../../../agent/workload/api/index.ts'
import { parseJwtBundle } from '../../../../core/svid/jwt-bundle.ts'
import { verifyJwtSvid } from '../../../../core/svid/jwt-svid.ts'
import { TestCa } from '../../../support/spiffe-ca.ts'
import { MemorySource, entry } from '../../../support/workload-source.ts'

const ROOT = resolve(import.meta.dirname, '../../../..')
// Debian's interpreter: python3-grpcio and python3-grpc-tools are system packages (scripts/ensure-system.sh)
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3'
const ID = 'spiffe://example.org/python'

let dir: string
let stubs: string
let source: MemorySource
let api: WorkloadApi

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vouch-pyinterop-'))
  stubs = join(dir, 'stubs')
  mkdirSync(stubs)
  const include = spawnSync(PYTHON, ['-c', 'import grpc_tools, os; print(os.path.join(os.path.dirname(grpc_tools.__file__), "_proto"))'], {
    encoding: 'utf8',
  })
  expect(include.status, `python3-grpc-tools is missing (scripts/ensure-system.sh installs it): ${include.stderr}`).toBe(0)
  const gen = spawnSync(
    PYTHON,
    [
      '-m',
      'grpc_tools.protoc',
      '-I',
      join(ROOT, 'proto'),
      '-I',
      include.stdout.trim(),
      `--python_out=${stubs}`,
      `--grpc_python_out=${stubs}`,
      join(ROOT, 'proto', 'workload.proto'),
    ],
    { encoding: 'utf8' },
  )
  expect(gen.status, gen.stderr).toBe(0)
  source = await MemorySource.create({
    entries: [entry('py', ID, [`unix:uid:${process.getuid!()}`])],
    federated: [{ trustDomain: 'partner.test', x509Authorities: [TestCa.root('partner.test').cert.der], jwtAuthorities: new Map() }],
  })
  api = await startWorkloadApi({ socketPath: join(dir, 'agent.sock'), source })
}, 60_000)

afterAll(async () => {
  await api?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('python3-grpcio client with stubs from proto/workload.proto', () => {
  it('fetches an X.509-SVID, the X.509 and JWT bundles and a JWT-SVID; is refused without the header', async () => {
    // asynchronously: the server lives in this process
    const child = spawn(PYTHON, [join(ROOT, 'test/support/python-workload-client.py'), stubs, api.socketPath], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    const code = await new Promise((r) => child.on('close', r))
    expect(code, stderr).toBe(0)
    const out = JSON.parse(stdout)

    expect(out.x509).toHaveLength(1)
    const svid = out.x509[0]
    expect(svid.spiffe_id).toBe(ID)
    const leaf = new X509Certificate(Buffer.from(svid.x509_svid, 'hex'))
    expect(leaf.subjectAltName).toBe(`URI:${ID}`)
    expect(leaf.checkPrivateKey(createPrivateKey({ key: Buffer.from(svid.x509_svid_key, 'hex'), format: 'der', type: 'pkcs8' }))).toBe(true)
    expect(svid.bundle).toBe(Buffer.from(source.ca.cert.der).toString('hex'))
    expect(out.federated).toEqual(['spiffe://partner.test'])
    expect(Object.keys(out.x509_bundles).sort()).toEqual(['spiffe://example.org', 'spiffe://partner.test'])

    const jwtBundle = parseJwtBundle('example.org', out.jwt_bundles['spiffe://example.org'])
    expect([...jwtBundle.authorities.keys()]).toEqual(['jwt-key-1'])
    expect(out.jwt.map((j: { spiffe_id: string }) => j.spiffe_id)).toEqual([ID])
    const verified = await verifyJwtSvid(out.jwt[0].svid, jwtBundle, { audience: 'spiffe://example.org/db' })
    expect(verified.id.toString()).toBe(ID)
    expect(out.validated).toEqual({ spiffe_id: ID, sub: ID, aud: ['spiffe://example.org/db'] })

    expect(out.no_header).toEqual({
      code: 'INVALID_ARGUMENT',
      details: 'ERR_WORKLOAD_API_SECURITY_HEADER: security header missing from request: workload.spiffe.io: true is required',
    })
  }, 60_000)
})
