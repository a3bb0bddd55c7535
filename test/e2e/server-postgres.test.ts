/**
 * End to end on one PostgreSQL: two Node servers (A and B, each its own data dir and CA, one
 * shared `database:`) and a live fixture swtpm agent. An agent attested through A is listed by
 * `vouch agent list` with B's config; a ban made with A's config refuses the agent's next
 * attestation on B, and the unban lets it through again. The bundle sequence is shared too.
 */
import { randomBytes } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runMain } from '../cli/run-main.ts'
import { createNodePlatform } from '../../runtimes/node/index.ts'
import { loadConfigFile } from '../../server/entry/bootstrap.ts'
import { type RunningServer, startNodeServer } from '../../server/entry/node.ts'
import { evidenceSet, LiveAgent } from '../core/attestation/live-agent.ts'
import { postgresMissing, startPostgres, type TestPostgres } from '../support/postgres.ts'
import { attestOverHttp, post } from './http-agent.ts'
import { writeServerFiles } from './setup.ts'

const missing = postgresMissing()
let pg: TestPostgres | undefined
let agent: LiveAgent | undefined
let serverA: RunningServer | undefined
let serverB: RunningServer | undefined
let filesA: ReturnType<typeof writeServerFiles>
let filesB: ReturnType<typeof writeServerFiles>
const logs: Record<string, unknown>[] = []

const start = (configPath: string) =>
  startNodeServer(loadConfigFile(configPath, {}), {
    platform: createNodePlatform(),
    write: (l) => logs.push(JSON.parse(l) as Record<string, unknown>),
  })

describe.skipIf(missing)('e2e (Node): two servers on one PostgreSQL', () => {
  beforeAll(async () => {
    pg = await startPostgres()
    const url = await pg.createDatabase('vouch_e2e')
    // one sealed-session keyring for both replicas (as every replica of one service holds it)
    const keys = join(mkdtempSync(join(tmpdir(), 'vouch-keys-')), 'session-keys.yaml')
    writeFileSync(keys, `- { id: k1, key: ${randomBytes(32).toString('base64')}, seal: true }\n`, { mode: 0o600 })
    filesA = writeServerFiles({ extra: `database: ${url}\nsessionKeys: ${keys}\n` })
    filesB = writeServerFiles({ extra: `database: ${url}\nsessionKeys: ${keys}\n` })
    agent = await LiveAgent.start('tpm-a')
    // A and B start together: the migrations run once, under the advisory lock
    ;[serverA, serverB] = await Promise.all([start(filesA.configPath), start(filesB.configPath)])
  }, 120_000)
  afterAll(async () => {
    await serverA?.close()
    await serverB?.close()
    await agent?.stop()
    pg?.stop()
  })

  it('attested on A, listed through B; a ban through A refuses on B; the unban through B lets it through on A', async () => {
    const evidence = evidenceSet('tpm-a-devid-rsa') as Record<string, string>
    const ok = await attestOverHttp(serverA!.url, agent!, evidence)
    expect(ok.answer?.status, JSON.stringify(ok.answer?.body ?? ok.start.body)).toBe(200)
    const id = ok.answer!.body.spiffeId as string
    const listed = await runMain(['agent', 'list', '--server-config', filesB.configPath])
    expect(listed.code).toBe(0)
    expect(listed.out).toHaveLength(1)
    expect(listed.out[0]).toMatch(new RegExp(`^${id.replace(/[.]/g, '\\.')}\\ttpm_devid\\t`))
    expect(listed.out[0]).not.toMatch(/BANNED/)
    expect((await runMain(['agent', 'ban', '--server-config', filesA.configPath, id])).out).toEqual([`banned ${id}`])
    const refused = await attestOverHttp(serverB!.url, agent!, evidence)
    expect(refused.answer).toEqual({ status: 403, body: { code: 'ERR_AGENT_BANNED', message: 'agent is banned' } })
    const shown = await runMain(['agent', 'show', '--server-config', filesA.configPath, '--output', 'json', id])
    expect(JSON.parse(shown.out[0]!)).toMatchObject({ spiffeId: id, banned: true, attestations: 1 })
    expect((await runMain(['agent', 'unban', '--server-config', filesB.configPath, id])).code).toBe(0)
    const again = await attestOverHttp(serverA!.url, agent!, evidence)
    expect(again.answer?.status).toBe(200)
    const after = await runMain(['agent', 'show', '--server-config', filesB.configPath, '--output', 'json', id])
    expect(JSON.parse(after.out[0]!)).toMatchObject({ banned: false, attestations: 2 })
  })

  it('a session started on A is answered on B; the same answer replayed on A, or on B, is refused (use-once records in PostgreSQL)', async () => {
    const evidence = evidenceSet('tpm-a-devid-rsa') as Record<string, string>
    const crossed = await attestOverHttp(serverA!.url, agent!, evidence, { answerBase: serverB!.url })
    expect(crossed.answer?.status, JSON.stringify(crossed.answer?.body ?? crossed.start.body)).toBe(200)
    const path = `/v1/attest/${crossed.sessionId}/answer`
    const [onA, onB] = await Promise.all([
      post(`${serverA!.url}${path}`, crossed.answerBody),
      post(`${serverB!.url}${path}`, crossed.answerBody),
    ])
    expect([onA.status, onB.status]).toEqual([404, 404])
    expect(onA.body).toEqual({ code: 'ERR_SESSION_UNKNOWN', message: 'unknown session ID' })
  })

  it('both servers report the shared database ready', async () => {
    for (const s of [serverA!, serverB!]) {
      const r = await fetch(`${s.url}/ready`)
      expect(r.status).toBe(200)
      expect(((await r.json()) as { checks: Record<string, boolean> }).checks.database).toBe(true)
    }
  })
})
