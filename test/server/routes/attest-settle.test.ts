import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UNKNOWN_SESSION } from '../../../core/messages.ts'
import { createNodePlatform } from '../../../runtimes/node/index.ts'
import { parseServerConfig } from '../../../server/config.ts'
import { type Bootstrapped, bootstrap } from '../../../server/entry/bootstrap.ts'
import { openSqliteWasm } from '../../../server/entry/sqlite-wasm.ts'
import { evidenceSet, LiveAgent } from '../../core/attestation/live-agent.ts'
import { policyDocument } from '../../e2e/setup.ts'
import { startAndAnswer } from '../answer-session.ts'

let agent: LiveAgent
const servers: Bootstrapped[] = []
const evidence = evidenceSet('tpm-a-devid-rsa') as Record<string, string>
/** added to the servers' clock (ms) */
let skew = 0

async function serve(extra: string): Promise<Bootstrapped> {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-attest-settle-'))
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(policyDocument()))
  const config = parseServerConfig(
    `trustDomain: example.org\nlisten: "127.0.0.1:0"\ndataDir: ${join(dir, 'data')}\npolicy: ${join(dir, 'policy.json')}\ntls: false\n${extra}`,
    {},
  )
  const server = await bootstrap(config, {
    platform: createNodePlatform({ now: () => Date.now() + skew }),
    openDatabase: (path, o) => openSqliteWasm(path, { ...o, writerThread: true }),
    write: () => {},
    env: {},
  })
  servers.push(server)
  return server
}

beforeAll(async () => {
  agent = await LiveAgent.start('tpm-a')
}, 60_000)
afterAll(async () => {
  for (const s of servers) s.close()
  await agent?.stop()
})

async function post(server: Bootstrapped, path: string, body: unknown) {
  const res = await server.app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

/** a session started on `server` and the agent's answer to it (with an SVID key and its proof) */
const session = (server: Bootstrapped) => startAndAnswer((path, body) => post(server, path, body), agent, evidence)

const unknown = [404, 'ERR_SESSION_UNKNOWN', UNKNOWN_SESSION]
const outcome = (r: { status: number; body: Record<string, unknown> }) => [r.status, r.body.code, r.body.message]

describe('the answer route with the answer ledger (sealed sessions, SQLite)', () => {
  it('copies of one answer sent at once: one SVID, the others unknown, and one token of the identity taken', async () => {
    // two sessions' worth of the identity's rate limit, refilled far slower than the test runs
    const server = await serve('rateLimit:\n  perIdentity: { burst: 2, rate: 0.001 }\n')
    const first = await session(server)
    const copies = await Promise.all(Array.from({ length: 6 }, () => post(server, first.path, first.body)))
    expect(copies.map((r) => r.status).sort()).toEqual([200, 404, 404, 404, 404, 404])
    for (const r of copies.filter((c) => c.status !== 200)) expect(outcome(r)).toEqual(unknown)
    // the agent's next attestation is within its limit: the burst took one token, not six
    const next = await session(server)
    const answered = await post(server, next.path, next.body)
    expect(answered.status, JSON.stringify(answered.body)).toBe(200)
    expect((await server.registry.get(answered.body.spiffeId as string))?.attestations).toBe(2)
  })

  it('a banned agent: 403, its session burned; an expired session: 410, burned; their replays: 404', async () => {
    const server = await serve('rateLimit:\n  enabled: false\n')
    const ok = await session(server)
    const answered = await post(server, ok.path, ok.body)
    expect(answered.status).toBe(200)
    const spiffeId = answered.body.spiffeId as string
    await server.registry.setBanned(spiffeId, true)
    const banned = await session(server)
    const refused = await post(server, banned.path, banned.body)
    expect([refused.status, refused.body.code]).toEqual([403, 'ERR_AGENT_BANNED'])
    expect(outcome(await post(server, banned.path, banned.body))).toEqual(unknown)
    expect((await server.registry.get(spiffeId))?.attestations).toBe(1)
    await server.registry.setBanned(spiffeId, false)

    const late = await session(server)
    skew += server.config.sessionTtlMs + 1000
    const expired = await post(server, late.path, late.body)
    expect([expired.status, expired.body.code]).toEqual([410, 'ERR_SESSION_EXPIRED'])
    expect(outcome(await post(server, late.path, late.body))).toEqual(unknown)
    expect(await server.usedSessions()).toBe(3)
    expect((await server.registry.get(spiffeId))?.attestations).toBe(1)
    const text = server.metrics.render(0)
    for (const o of ['success', 'banned', 'failure', 'unknown_session'])
      expect(text, o).toMatch(new RegExp(`vouch_attestation_proofs_total\\{[^}]*outcome="${o}"[^}]*\\} [1-9]`))
  })
})
