/**
 * The per-identity rate limit at start in `vouch server` on Node (startNodeServer: the verifier
 * behind the policy reloader, real client addresses), with the identity's burst at 2:
 * - `sessions: memory` (a start keeps a session): one identity's evidence, replayed from any
 *   addresses, gets 429 past the burst before MakeCredential, so it cannot fill the session store;
 *   another identity still starts. The reloader once passed `start` its request without the route's
 *   options, which turned this limit off in every server.
 * - sealed sessions (the default, a start keeps nothing): starts are bounded by the per-address
 *   limit only, so a flood of a device's captured evidence cannot refuse the device's own starts.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { loadConfigFile } from '../../../server/entry/bootstrap.ts'
import { type RunningServer, startNodeServer } from '../../../server/entry/node.ts'
import { evidenceSet } from '../../core/attestation/live-agent.ts'
import { nodeHttpFetch } from '../../e2e/http-agent.ts'
import { writeServerFiles } from '../../e2e/setup.ts'

const servers: RunningServer[] = []
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()))
})

async function serve(sessions: 'memory' | 'sealed'): Promise<RunningServer> {
  const files = writeServerFiles({
    extra: `sessions: ${sessions}\nrateLimit: { perIdentity: { burst: 2, rate: 0.01 }, perAddress: { burst: 1000, rate: 100 } }\n`,
  })
  const server = await startNodeServer(loadConfigFile(files.configPath, {}), { write: () => {} })
  servers.push(server)
  return server
}

/** a start over node:http from `localAddress` (another client address) */
async function start(server: RunningServer, set: string, localAddress: string): Promise<{ status: number; code?: string }> {
  const res = await nodeHttpFetch({ localAddress })(`${server.url}/v1/attest`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidenceSet(set) } }),
  })
  const { code } = (await res.json()) as { code?: string }
  return { status: res.status, ...(code ? { code } : {}) }
}

describe('vouch server: the per-identity limit at start', () => {
  it('sessions: memory: one identity replayed from several addresses gets 429 past its burst; another identity still starts', async () => {
    const server = await serve('memory')
    const statuses: number[] = []
    for (const address of ['127.0.0.9', '127.0.0.10', '127.0.0.11', '127.0.0.12'])
      statuses.push((await start(server, 'tpm-a-devid-rsa', address)).status)
    expect(statuses).toEqual([200, 200, 429, 429])
    expect(await start(server, 'tpm-a-devid-rsa', '127.0.0.2')).toEqual({ status: 429, code: 'ERR_RATE_LIMITED' })
    expect((await start(server, 'tpm-a-devid-p256', '127.0.0.9')).status).toBe(200)
  })

  it('sealed sessions: a flood of one identity from one address leaves the identity able to start (per-address limit only)', async () => {
    const server = await serve('sealed')
    const statuses: number[] = []
    for (let i = 0; i < 6; i++) statuses.push((await start(server, 'tpm-a-devid-rsa', '127.0.0.9')).status)
    expect(statuses).toEqual(Array(6).fill(200))
    expect((await start(server, 'tpm-a-devid-rsa', '127.0.0.2')).status).toBe(200)
  })
})
