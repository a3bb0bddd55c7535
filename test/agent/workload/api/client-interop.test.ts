// vouch's own Workload API client (vouch/workload, runtimes/workload/) against the agent socket: the
// X.509 source verifies what the server sends and follows a rotation, two TLS endpoints built on it
// do mutual TLS checking each other's SPIFFE ID, and the JWT source fetches and validates a token.
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type WorkloadApi, startWorkloadApi } from '../../../../agent/workload/api/index.ts'
import { connectTls, createJwtSource, createTlsServer, createX509Source, matchId } from '../../../../runtimes/workload/index.ts'
import { MemorySource, entry } from '../../../support/workload-source.ts'

const ID = 'spiffe://example.org/web'
let dir: string
let source: MemorySource
let api: WorkloadApi
let address: string

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vouch-wlclient-'))
  chmodSync(dir, 0o755)
  source = await MemorySource.create({ entries: [entry('web', ID, [`unix:uid:${process.getuid!()}`])] })
  api = await startWorkloadApi({ socketPath: join(dir, 'agent.sock'), source })
  address = `unix://${api.socketPath}`
})
afterAll(async () => {
  await api?.close()
  rmSync(dir, { recursive: true, force: true })
})

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

describe('vouch/workload against the agent socket', () => {
  it('the X.509 source gets a verified SVID and follows a rotation', async () => {
    const x509 = await createX509Source({ address })
    try {
      const first = x509.getX509Svid()
      expect(first.id.toString()).toBe(ID)
      expect(first.verifiedChain.length).toBe(2) // leaf, then the bundle authority
      const rotated = new Promise<void>((resolve) => {
        const off = x509.onUpdate(() => {
          off()
          resolve()
        })
      })
      source.rotate()
      await rotated
      expect(hex(x509.getX509Svid().certificates[0]!.serialNumber)).not.toBe(hex(first.certificates[0]!.serialNumber))
    } finally {
      x509.close()
    }
  })

  it('two TLS endpoints on the source do mutual TLS, each checking the other SPIFFE ID', async () => {
    const x509 = await createX509Source({ address })
    const server = createTlsServer(x509, matchId(ID), ({ socket, peer }) => socket.end(`hello ${peer.id}`))
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const port = (server.address() as { port: number }).port
      const { socket, peer } = await connectTls(x509, matchId(ID), { host: '127.0.0.1', port })
      expect(peer.id.toString()).toBe(ID)
      const said = await new Promise<string>((resolve) => {
        let s = ''
        socket.on('data', (d) => {
          s += d
        })
        socket.on('end', () => resolve(s))
      })
      expect(said).toBe(`hello ${ID}`)
      await expect(connectTls(x509, matchId('spiffe://example.org/other'), { host: '127.0.0.1', port })).rejects.toThrow()
    } finally {
      server.close()
      x509.close()
    }
  })

  it('the JWT source fetches a JWT-SVID and validates it against the served JWT bundle', async () => {
    const jwt = await createJwtSource({ address })
    try {
      const token = await jwt.fetchJwtSvid({ audience: 'spiffe://example.org/db' })
      expect(token.id.toString()).toBe(ID)
      const verified = await jwt.validateJwtSvid(token.token, 'spiffe://example.org/db')
      expect(verified.id.toString()).toBe(ID)
    } finally {
      jwt.close()
    }
  })
})
