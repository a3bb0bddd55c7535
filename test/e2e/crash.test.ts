/**
 * `vouch server --config FILE` in a child process (Node): logs its URL (JSON lines on stdout); kill -9 while agents
 * are mid-attestation loses nothing that was committed: every SVID an agent received is in the
 * registry after the restart, the CA is the same, the database is intact, and a session that was
 * open at the crash is simply unknown afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { main } from '../../cli/main.ts'
import { evidenceSet, LiveAgent } from '../core/attestation/live-agent.ts'
import { attestOverHttp, post } from './http-agent.ts'
import { writeServerFiles } from './setup.ts'
import { spawnServer, type Child } from './spawn-server.ts'

let a: LiveAgent
let b: LiveAgent
let server: Child | undefined
beforeAll(async () => {
  ;[a, b] = await Promise.all([LiveAgent.start('tpm-a'), LiveAgent.start('tpm-b')])
}, 60_000)
afterAll(async () => {
  await server?.kill()
  await Promise.all([a?.stop(), b?.stop()])
})

async function registry(dataDir: string): Promise<Map<string, number>> {
  const out: string[] = []
  expect(await main(['agent', 'list', '--data-dir', dataDir, '--output', 'json'], { out: (l) => out.push(l), err: () => {} })).toBe(0)
  return new Map((JSON.parse(out[0]!) as { spiffeId: string; attestations: number }[]).map((x) => [x.spiffeId, x.attestations]))
}

describe('e2e: vouch server, kill -9 during attestations', () => {
  it('loses nothing committed', async () => {
    const files = writeServerFiles()
    server = await spawnServer('node', files.configPath)
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
    const bundle = await (await fetch(`${server.url}/v1/bundle`)).text()
    // an attestation left open at the crash
    const open = await attestOverHttp(server.url, a, evidenceSet('tpm-a-devid-rsa') as Record<string, string>, { startOnly: true })
    expect(open.start.status).toBe(200)
    // agents attesting in a loop; the server is killed after a few SVIDs were delivered
    const received = new Map<string, number>()
    let stop = false
    const loop = async (agent: LiveAgent, set: string) => {
      while (!stop) {
        try {
          const r = await attestOverHttp(server!.url, agent, evidenceSet(set) as Record<string, string>)
          if (r.answer?.status === 200) {
            const id = r.answer.body.spiffeId as string
            received.set(id, (received.get(id) ?? 0) + 1)
          }
        } catch {
          return // connection refused or reset: the server is gone
        }
      }
    }
    const loops = [loop(a, 'tpm-a-devid-rsa'), loop(a, 'tpm-a-devid-p256'), loop(b, 'tpm-b-devid-rsa')]
    while ([...received.values()].reduce((n, x) => n + x, 0) < 6) await new Promise((r) => setTimeout(r, 20))
    await server.kill('SIGKILL')
    stop = true
    await Promise.all(loops)
    expect(server.proc.signalCode).toBe('SIGKILL')

    server = await spawnServer('node', files.configPath)
    expect(await (await fetch(`${server.url}/v1/bundle`)).text()).toBe(bundle)
    const after = await registry(files.dataDir)
    for (const [id, n] of received) expect(after.get(id), id).toBeGreaterThanOrEqual(n)
    // the session open at the crash is gone; the agent simply attests again
    const answer = await post(`${server.url}/v1/attest/${(open.start.body as { sessionId: string }).sessionId}/answer`, {
      answers: { tpm_devid: { DevID: 'AA==', CredActivation: 'AA==' } },
    })
    expect(answer).toEqual({ status: 404, body: { code: 'ERR_SESSION_UNKNOWN', message: 'unknown session ID' } })
    const again = await attestOverHttp(server.url, a, evidenceSet('tpm-a-devid-rsa') as Record<string, string>)
    expect(again.answer?.status).toBe(200)
    const id = again.answer!.body.spiffeId as string
    expect((await registry(files.dataDir)).get(id)).toBe((after.get(id) ?? 0) + 1)
  }, 90_000)
})
