/**
 * One durable commit per answer (registry/answer-ledger.ts): a server bootstrapped as `vouch server`
 * boots (sealed sessions, SQLite with its writer thread), driven in process by a live swtpm agent.
 * A start writes nothing; an answer is one write transaction holding the use-once claim and the
 * agent's record; a replay of the answer is refused as an unknown session without a transaction
 * (the replica knows the id) and without recording the agent again.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeSvidKeyProofMessage } from '../../../core/attestation/svid-key.ts'
import { UNKNOWN_SESSION } from '../../../core/messages.ts'
import { createNodePlatform } from '../../../runtimes/node/index.ts'
import { parseServerConfig } from '../../../server/config.ts'
import { type Bootstrapped, bootstrap } from '../../../server/entry/bootstrap.ts'
import { openSqliteWasm } from '../../../server/entry/sqlite-wasm.ts'
import type { SqlDatabase } from '../../../server/registry/sql.ts'
import { evidenceSet, LiveAgent } from '../../core/attestation/live-agent.ts'
import { policyDocument } from '../../e2e/setup.ts'

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
    const start = await post('/v1/attest', { providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidence } })
    expect(start.status).toBe(200)
    expect(transactions).toBe(before)
    const sessionId = start.body.sessionId as string
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const spki = publicKey.export({ format: 'der', type: 'spki' })
    const binding = new Uint8Array(createHash('sha256').update(spki).digest())
    const challenge = (start.body.challenges as Record<string, Record<string, unknown>>).tpm_devid!
    const answers = {
      tpm_devid: await agent.answer(challenge, { devIdPub: evidence.DevIDPub!, akPub: evidence.AKPub!, ekPub: evidence.EKPub!, binding }),
    }
    const body = {
      answers,
      publicKey: spki.toString('base64'),
      keyProof: sign('sha256', makeSvidKeyProofMessage(sessionId, binding), { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString(
        'base64',
      ),
    }
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
