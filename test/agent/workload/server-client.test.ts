// The agent's mTLS client of the workload routes against a real node:https server (openssl-made
// server and client certificates): the client certificate is presented, the server is checked
// against the given CA only, error answers keep the server's code, answers are bounded.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:https'
import type { TLSSocket } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_RESPONSE_BYTES, type NodeCredentials, WorkloadServerClient } from '../../../agent/workload/server-client.ts'

const dir = mkdtempSync(join(tmpdir(), 'vouch-wl-client-'))
const f = (n: string) => join(dir, n)
function selfSigned(name: string, cn: string, san: string): { cert: string; key: string } {
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      f(`${name}.key`),
      '-out',
      f(`${name}.pem`),
      '-days',
      '1',
      '-subj',
      `/CN=${cn}`,
      '-addext',
      `subjectAltName=${san}`,
    ],
    { stdio: 'ignore' },
  )
  return { cert: readFileSync(f(`${name}.pem`), 'utf8'), key: readFileSync(f(`${name}.key`), 'utf8') }
}

const serverId = selfSigned('server', 'localhost', 'IP:127.0.0.1')
const agentId = selfSigned('agent', 'agent', 'URI:spiffe://example.org/agent/x')
const otherCa = selfSigned('other', 'other', 'IP:127.0.0.1')
let server: Server
let base: string
const seen: string[] = []

beforeAll(async () => {
  server = createServer({ ...serverId, requestCert: true, rejectUnauthorized: false }, (req, res) => {
    const peer = (req.socket as TLSSocket).getPeerCertificate()
    seen.push(peer?.subjectaltname ?? 'none')
    if (req.url === '/v1/entries') return res.end(JSON.stringify({ entries: [] }))
    if (req.url === '/huge') return res.end(`{"x":"${'a'.repeat(MAX_RESPONSE_BYTES)}"}`)
    if (req.url === '/list') return res.end('[1,2]')
    res.statusCode = 403
    res.end(JSON.stringify({ code: 'ERR_ENTRY_NOT_AUTHORIZED', message: 'entry e is not parented to agent a' }))
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  base = `https://127.0.0.1:${(server.address() as { port: number }).port}`
})

afterAll(() => new Promise<void>((r) => server.close(() => r())))

const node = (ca = serverId.cert): NodeCredentials => ({
  spiffeId: 'spiffe://example.org/agent/x',
  certificatePem: agentId.cert,
  privateKeyPem: agentId.key,
  serverCaPem: ca,
})

describe('WorkloadServerClient', () => {
  it('presents the node SVID to the workload routes, none to the public bundle route', async () => {
    seen.length = 0
    expect(await new WorkloadServerClient(base).call(node(), 'GET', '/v1/entries')).toEqual({ entries: [] })
    await new WorkloadServerClient(base).getText(node(), '/v1/entries')
    expect(seen).toEqual(['URI:spiffe://example.org/agent/x', 'none'])
  })

  it("keeps the server's status and code; refuses non-object JSON, answers over the bound, servers of another CA, and http://", async () => {
    const c = new WorkloadServerClient(base)
    await expect(c.call(node(), 'POST', '/v1/svid/x509', { entryId: 'e' })).rejects.toMatchObject({
      status: 403,
      code: 'ERR_ENTRY_NOT_AUTHORIZED',
      message: 'POST /v1/svid/x509: HTTP 403 ERR_ENTRY_NOT_AUTHORIZED: entry e is not parented to agent a',
    })
    await expect(c.call(node(), 'GET', '/list')).rejects.toThrow('GET /list: not a JSON object')
    await expect(c.call(node(), 'GET', '/huge')).rejects.toThrow(`/huge: answer larger than ${MAX_RESPONSE_BYTES} bytes`)
    await expect(c.call(node(otherCa.cert), 'GET', '/v1/entries')).rejects.toThrow(/self-signed certificate|unable to verify/)
    expect(() => new WorkloadServerClient('http://127.0.0.1:1')).toThrow(
      'workload SVIDs need an https:// server (mTLS), found http://127.0.0.1:1',
    )
  })
})
