/**
 * The per-identity rate limit at start, in a server bootstrapped as `vouch server` boots (its
 * verifier behind the policy reloader): replayed evidence of one identity is refused with 429 past
 * its burst, before MakeCredential, while another identity still starts. The reloader once passed
 * `start` its request without the route's options, which turned this limit off in every server.
 */
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNodePlatform } from '../../../runtimes/node/index.ts'
import { parseServerConfig } from '../../../server/config.ts'
import { type Bootstrapped, bootstrap } from '../../../server/entry/bootstrap.ts'
import { openSqliteWasm } from '../../../server/entry/sqlite-wasm.ts'
import { evidenceSet } from '../../core/attestation/live-agent.ts'
import { policyDocument } from '../../e2e/setup.ts'

let server: Bootstrapped

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-identity-limit-'))
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(policyDocument()))
  const config = parseServerConfig(
    `trustDomain: example.org\nlisten: "127.0.0.1:0"\ndataDir: ${join(dir, 'data')}\npolicy: ${join(dir, 'policy.json')}\ntls: false\n` +
      'rateLimit: { perIdentity: { burst: 2, rate: 0.01 }, perAddress: { burst: 1000, rate: 100 } }\n',
    {},
  )
  server = await bootstrap(config, {
    platform: createNodePlatform(),
    openDatabase: (p, o) => openSqliteWasm(p, o),
    write: () => {},
    env: {},
  })
})
afterAll(() => server?.close())

const start = async (evidence: Record<string, string>) => {
  const res = await server.app.request('/v1/attest', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidence } }),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe('vouch server: the per-identity limit at start', () => {
  it('one identity past its burst gets 429 ERR_RATE_LIMITED; another identity still starts', async () => {
    const one = evidenceSet('tpm-a-devid-rsa') as Record<string, string>
    const statuses: number[] = []
    for (let i = 0; i < 4; i++) statuses.push((await start(one)).status)
    expect(statuses).toEqual([200, 200, 429, 429])
    const refused = await start(one)
    expect([refused.status, refused.body.code]).toEqual([429, 'ERR_RATE_LIMITED'])
    expect((await start(evidenceSet('tpm-a-devid-p256') as Record<string, string>)).status).toBe(200)
  })
})
