import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { UNKNOWN_SESSION } from '../../../core/messages.ts'
import { createNodePlatform } from '../../../runtimes/node/index.ts'
import { parseServerConfig } from '../../../server/config.ts'
import { type Bootstrapped, bootstrap } from '../../../server/entry/bootstrap.ts'
import { openSqliteWasm } from '../../../server/entry/sqlite-wasm.ts'
import type { SqlDatabase } from '../../../server/registry/sql.ts'
import { evidenceSet, LiveAgent } from '../../core/attestation/live-agent.ts'
import { policyDocument } from '../../e2e/setup.ts'
import { startAndAnswer } from '../answer-session.ts'

let agent: LiveAgent
let server: Bootstrapped
let transactions = 0
const evidence = evidenceSet('tpm-a-devid-rsa') as Record<string, string>

beforeAll(async () => {
  agent = await LiveAgent.start('tpm-a')
  const dir = mkdtempSync(join(tmpdir(), 'vouch-answer-commit-'))
  writeFileSync(join(dir, 'policy.json'), JSON.stringify(policyDocument()))
  const config = parseServerConfig(
    `trustDomain: example.org\nlisten: "127.0.0.1:0"\ndataDir: ${join(dir, 'data')}\npolicy: ${join(dir, 'policy.json')}\ntls: false\n`,
    {},
  )
  server = await bootstrap(config, {
    platform: createNodePlatform(),
    // as the Node entry opens it (writer thread), with each write transaction counted
    openDatabase: (path, o) => {
      const db = openSqliteWasm(path, { ...o, writerThread: true })
      const counted: SqlDatabase = {
        ...db,
        writeTransaction: (statements) => {
          transactions++
          return db.writeTransaction!(statements)
        },
      }
      return counted
    },
    write: () => {},
    env: {},
  })
}, 60_000)
afterAll(async () => {
  server?.close()
  await agent?.stop()
})

async function post(path: string, body: unknown) {
  const res = await server.app.request(path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as Record<string, unknown> }
}

describe('an answer is one write transaction (sealed sessions, SQLite)', () => {
  it('start: none; answer: one, with the claim and the record; a replay: none, and unknown', async () => {
    const before = transactions
    const { sessionId, body } = await startAndAnswer(post, agent, evidence)
    expect(transactions).toBe(before)
    const answer = await post(`/v1/attest/${sessionId}/answer`, body)
    expect(answer.status, JSON.stringify(answer.body)).toBe(200)
    expect(transactions).toBe(before + 1)
    const spiffeId = answer.body.spiffeId as string
    const recorded = await server.registry.get(spiffeId)
    expect(recorded?.attestations).toBe(1)
    expect(await server.usedSessions()).toBe(1)

    const replay = await post(`/v1/attest/${sessionId}/answer`, body)
    expect([replay.status, replay.body.code, replay.body.message]).toEqual([404, 'ERR_SESSION_UNKNOWN', UNKNOWN_SESSION])
    expect(transactions).toBe(before + 1)
    expect((await server.registry.get(spiffeId))?.attestations).toBe(1)
  })
})
