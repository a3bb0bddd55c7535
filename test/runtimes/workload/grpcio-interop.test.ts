/**
 * vouch's Workload API client against a second gRPC implementation: a Python grpcio server
 * (Debian python3-grpcio and python3-grpc-tools, stubs generated from proto/workload.proto) on a
 * unix socket. X509Source and JwtSource get and verify what it streams; FetchJWTSVID passes the
 * audience through; a PERMISSION_DENIED with a non-ASCII message comes back percent-decoded; a
 * call without the security header (sent by hand) is refused by the server as SPIRE does.
 */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import http2 from 'node:http2'
import net from 'node:net'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { frameMessage } from '../../../core/workload/grpc-frame.ts'
import { WorkloadApiMethod } from '../../../core/workload/service.ts'
import { JwtSource, X509Source } from '../../../runtimes/workload/sources.ts'
import { TestCa, bundleJson, makeJwtAuthority, mintJwtSvid } from '../../support/spiffe-ca.ts'
import { jwtBundlesResponse, svidMessage, x509Response } from '../../support/workload-svids.ts'
import { SETTLE } from '../../support/settle.ts'

const SUB = 'spiffe://example.org/py-workload'
let dir: string
let child: ChildProcessWithoutNullStreams
let address: string
const lines: string[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vouch-grpcio-'))
  const socket = join(dir, 'agent.sock')
  address = `unix://${socket}`
  const ca = TestCa.root('example.org')
  const key = await makeJwtAuthority('ES256', 'k1')
  const token = await mintJwtSvid(key, { claims: { sub: SUB, aud: ['py-aud'], exp: Math.floor(Date.now() / 1000) + 300 } })
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
  child = spawn(
    '/usr/bin/python3',
    [
      join(import.meta.dirname, 'grpcio_server.py'),
      socket,
      hex(x509Response([svidMessage(ca, SUB, { hint: 'internal' })])),
      hex(jwtBundlesResponse({ 'spiffe://example.org': bundleJson([key]) })),
    ],
    { env: { ...process.env, JWT_SVID: token } },
  )
  let stderr = ''
  child.stderr.on('data', (d) => (stderr += d))
  const rl = createInterface({ input: child.stdout })
  await new Promise<void>((resolve, reject) => {
    rl.on('line', (l) => {
      lines.push(l)
      if (l === 'listening') resolve()
    })
    child.on('exit', (code) => reject(new Error(`grpcio server exited ${code}: ${stderr}`)))
  })
}, 60_000)

afterAll(async () => {
  child?.stdin.end()
  if (child && child.exitCode === null) await new Promise((resolve) => child.on('exit', resolve))
  if (dir) rmSync(dir, { recursive: true, force: true })
})

describe('vouch/workload against python3-grpcio', () => {
  it('X509Source: the streamed SVID verifies, with its hint', async () => {
    const src = new X509Source({ address, backoff: { initialMs: 20, maxMs: 100 } })
    try {
      await src.ready
      expect(src.getX509Svid().id.toString()).toBe(SUB)
      expect(src.getX509Svid().hint).toBe('internal')
    } finally {
      src.close()
    }
  })

  it('JwtSource: streamed JWT bundles, FetchJWTSVID with the audience, local validation', async () => {
    const src = new JwtSource({ address, backoff: { initialMs: 20, maxMs: 100 } })
    try {
      await src.ready
      const fetched = await src.fetchJwtSvid({ audience: ['py-aud', 'second'], spiffeId: SUB })
      expect(fetched.hint).toBe('py')
      await vi.waitFor(() => expect(lines).toContain(`FetchJWTSVID py-aud,second ${SUB}`), SETTLE)
      expect((await src.validateJwtSvid(fetched.token, 'py-aud')).id.toString()).toBe(SUB)
      await expect(src.fetchJwtSvid({ audience: 'denied' })).rejects.toMatchObject({
        code: 'ERR_WORKLOAD_STATUS',
        message: '/SpiffeWorkloadAPI/FetchJWTSVID: PERMISSION_DENIED: no identity for this audience – sorry',
      })
    } finally {
      src.close()
    }
  })

  it('a call without the workload.spiffe.io header is refused with INVALID_ARGUMENT (why the client always sends it)', async () => {
    const session = http2.connect('http://localhost', { createConnection: () => net.connect(join(dir, 'agent.sock')) })
    try {
      const stream = session.request({
        ':method': 'POST',
        ':path': WorkloadApiMethod.fetchX509Svid,
        'content-type': 'application/grpc',
        te: 'trailers',
      })
      stream.end(frameMessage(new Uint8Array()))
      const status = await new Promise<string | undefined>((resolve) => {
        let s: string | undefined
        stream.on('response', (h) => (s ??= h['grpc-status'] as string | undefined))
        stream.on('trailers', (t) => (s = t['grpc-status'] as string | undefined))
        stream.on('data', () => {})
        stream.on('close', () => resolve(s))
      })
      expect(status).toBe('3')
    } finally {
      session.destroy()
    }
  })
})
