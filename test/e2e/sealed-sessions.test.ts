/**
 * Sealed sessions end to end on Node (startNodeServer, node-sqlite3-wasm, a keyring file) with a
 * live fixture swtpm: the session state lives with the agent, so a server restarted between the
 * challenge and the answer still answers it; the use-once record in agents.db refuses a replay, and
 * of two answers sent at once exactly one gets the SVID; a session sealed with a key since retired
 * gets its own message.
 */
import { createHash } from 'node:crypto'
import { appendFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { makeSvidKeyProofMessage } from '../../core/attestation/svid-key.ts'
import { SESSION_KEY_RETIRED, UNKNOWN_SESSION } from '../../core/messages.ts'
import { loadConfigFile } from '../../server/entry/bootstrap.ts'
import { startNodeServer, type RunningServer } from '../../server/entry/node.ts'
import { evidenceSet, LiveAgent } from '../core/attestation/live-agent.ts'
import { newKey, post } from './http-agent.ts'
import { writeServerFiles } from './setup.ts'

let a: LiveAgent
let files: ReturnType<typeof writeServerFiles>
let keysFile: string
let server: RunningServer
const logs: string[] = []
const k = (b: number) => Buffer.alloc(32, b).toString('base64')
const ev = evidenceSet('tpm-a-devid-rsa') as Record<string, string>

function writeKeys(list: Record<string, unknown>[]) {
  writeFileSync(keysFile, JSON.stringify(list), { mode: 0o600 })
}
async function start(): Promise<RunningServer> {
  return startNodeServer(loadConfigFile(files.configPath, {}), { write: (l) => logs.push(l) })
}

beforeAll(async () => {
  a = await LiveAgent.start('tpm-a')
  files = writeServerFiles()
  keysFile = join(files.dir, 'session-keys.json')
  appendFileSync(files.configPath, `sessionKeys: ${keysFile}\n`)
  writeKeys([{ id: 'k1', key: k(1), seal: true }])
  server = await start()
}, 60_000)
afterAll(async () => {
  await server?.close()
  await a?.stop()
})

/** A challenge from the server now, and the answer body the agent would send (not sent). */
async function challengeAndAnswer() {
  const start = await post(`${server.url}/v1/attest`, { providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
  expect(start.status, JSON.stringify(start.body)).toBe(200)
  const sessionId = start.body.sessionId as string
  const { keyPair, spki } = await newKey()
  const binding = new Uint8Array(createHash('sha256').update(spki).digest())
  const challenge = (start.body.challenges as Record<string, Record<string, unknown>>).tpm_devid!
  const answers = { tpm_devid: await a.answer(challenge, { devIdPub: ev.DevIDPub!, akPub: ev.AKPub!, ekPub: ev.EKPub!, binding }) }
  const keyProof = new Uint8Array(
    await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, keyPair.privateKey, makeSvidKeyProofMessage(sessionId, binding)),
  )
  const body = { answers, publicKey: Buffer.from(spki).toString('base64'), keyProof: Buffer.from(keyProof).toString('base64') }
  return { sessionId, body }
}

const answer = (sessionId: string, body: unknown) => post(`${server.url}/v1/attest/${sessionId}/answer`, body)

describe('e2e (Node): sealed sessions', () => {
  it('a restart between challenge and answer: still answered (the state travels with the agent); a replay is refused', async () => {
    const { sessionId, body } = await challengeAndAnswer()
    expect(sessionId.length).toBeGreaterThan(64)
    await server.close()
    server = await start()
    const r = await answer(sessionId, body)
    expect(r.status, JSON.stringify(r.body)).toBe(200)
    expect(r.body.spiffeId).toMatch(/^spiffe:\/\/example\.org\/agent\/tpm_devid\//)
    // the use-once record is in agents.db: refused after another restart too
    await server.close()
    server = await start()
    expect(await answer(sessionId, body)).toEqual({ status: 404, body: { code: 'ERR_SESSION_UNKNOWN', message: UNKNOWN_SESSION } })
    // the token, which carries the sealed activation secret, is never logged
    expect(logs.some((l) => l.includes(sessionId.slice(0, 40)))).toBe(false)
  })

  it('two answers at the same moment: exactly one 200, the other unknown session ID', async () => {
    const { sessionId, body } = await challengeAndAnswer()
    const results = await Promise.all([answer(sessionId, body), answer(sessionId, body)])
    expect(results.map((r) => r.status).sort()).toEqual([200, 404])
    expect(results.find((r) => r.status === 404)!.body).toEqual({ code: 'ERR_SESSION_UNKNOWN', message: UNKNOWN_SESSION })
  })

  it('rotation: a key still listed opens; once retired, its sessions get their own message', async () => {
    const first = await challengeAndAnswer()
    const second = await challengeAndAnswer()
    writeKeys([
      { id: 'k2', key: k(2), seal: true },
      { id: 'k1', key: k(1) },
    ])
    await server.close()
    server = await start()
    expect((await answer(first.sessionId, first.body)).status).toBe(200)
    writeKeys([
      { id: 'k2', key: k(2), seal: true },
      { id: 'k1', key: k(1), retired: true },
    ])
    await server.close()
    server = await start()
    expect(await answer(second.sessionId, second.body)).toEqual({
      status: 410,
      body: { code: 'ERR_SESSION_KEY_RETIRED', message: SESSION_KEY_RETIRED },
    })
    // new sessions are sealed with k2 and answered
    const third = await challengeAndAnswer()
    expect((await answer(third.sessionId, third.body)).status).toBe(200)
  })
})
