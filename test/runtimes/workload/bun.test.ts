/**
 * The Workload API client on Bun: a Bun process (node_modules/.bin/bun) runs X509Source and
 * JwtSource against the Node test server: first SVID, a rotation pushed to the open stream, a
 * JWT-SVID fetched and validated with vouch against the streamed JWT bundle.
 */
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { afterEach, describe, expect, it } from 'vitest'
import { encodeJwtSvidResponse } from '../../../core/workload/jwt-svid.ts'
import { WorkloadApiMethod } from '../../../core/workload/service.ts'
import { TestCa, bundleJson, makeJwtAuthority, mintJwtSvid } from '../../support/spiffe-ca.ts'
import { TestWorkloadApiServer } from '../../support/workload-api-server.ts'
import { jwtBundlesResponse, svidMessage, x509Response } from '../../support/workload-svids.ts'

const ROOT = join(import.meta.dirname, '../../..')
const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

describe('vouch/workload on Bun', () => {
  it('X509Source gets the SVID and its rotation; JwtSource fetches and validates a JWT-SVID', async () => {
    const server = await new TestWorkloadApiServer().listen()
    cleanup.push(() => server.close())
    const ca = TestCa.root('example.org')
    const key = await makeJwtAuthority('ES256', 'k1')
    const sub = 'spiffe://example.org/bun'
    server.handle(WorkloadApiMethod.fetchX509Svid, (call) => call.send(x509Response([svidMessage(ca, sub)])))
    server.handle(WorkloadApiMethod.fetchJwtBundles, (call) => call.send(jwtBundlesResponse({ 'spiffe://example.org': bundleJson([key]) })))
    const token = await mintJwtSvid(key, { claims: { sub, aud: ['bun-test'], exp: Math.floor(Date.now() / 1000) + 300 } })
    server.handle(WorkloadApiMethod.fetchJwtSvid, (call) => {
      call.send(encodeJwtSvidResponse({ svids: [{ spiffeId: sub, svid: token, hint: '' }] }))
      call.end()
    })

    const child = spawn(join(ROOT, 'node_modules/.bin/bun'), [join(ROOT, 'test/runtimes/workload/bun-client.ts'), server.address], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    cleanup.push(() => child.kill())
    let stderr = ''
    child.stderr.on('data', (d) => (stderr += d))
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
    const next = async () => {
      const r = await lines.next()
      if (r.done) throw new Error(`bun ended early: ${stderr}`)
      return JSON.parse(r.value) as Record<string, unknown>
    }
    expect(await next()).toEqual({ step: 'ready', id: sub, chain: 1 })
    server.push(WorkloadApiMethod.fetchX509Svid, x509Response([svidMessage(ca, `${sub}/rotated`, { keyIndex: 5 })]))
    expect(await next()).toEqual({ step: 'rotated', id: `${sub}/rotated` })
    expect(await next()).toEqual({ step: 'jwt', id: sub, runtime: 'bun' })
    const code = child.exitCode ?? (await new Promise<number | null>((resolve) => child.on('exit', resolve)))
    expect(code).toBe(0)
    expect(server.calls.every((c) => c.securityHeader === 'true')).toBe(true)
  }, 60_000)
})
