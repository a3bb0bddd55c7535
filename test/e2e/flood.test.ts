/**
 * Flood-proof starts (issue 13 item 4): a burst of starts replaying one captured evidence document
 * from one address, while genuine agents attest from other addresses, with the rate limits at
 * their defaults. The genuine agents all get their SVIDs (the flood cannot answer: it holds no
 * TPM), the flood is mostly refused by the per-address limit, and server state does not grow with
 * it: sealed sessions keep nothing per start, use-once records are written by answers only.
 *
 * VOUCH_FLOOD_STARTS sets the burst (default 5,000; scripts measure the full 50,000 once).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadConfigFile } from '../../server/entry/bootstrap.ts'
import { startNodeServer, type RunningServer } from '../../server/entry/node.ts'
import { evidenceSet, LiveAgent } from '../core/attestation/live-agent.ts'
import { attestOverHttp, nodeHttpFetch } from './http-agent.ts'
import { writeServerFiles } from './setup.ts'

const STARTS = Number(process.env.VOUCH_FLOOD_STARTS ?? 5_000)
const IN_FLIGHT = 64

let a: LiveAgent
let b: LiveAgent
let a2: LiveAgent
let b2: LiveAgent
let server: RunningServer

beforeAll(async () => {
  // one swtpm instance per genuine agent (a TPM serves one attestation at a time)
  ;[a, b, a2, b2] = await Promise.all([
    LiveAgent.start('tpm-a'),
    LiveAgent.start('tpm-b'),
    LiveAgent.start('tpm-a'),
    LiveAgent.start('tpm-b'),
  ])
  server = await startNodeServer(loadConfigFile(writeServerFiles().configPath, {}), { write: () => {} })
}, 60_000)
afterAll(async () => {
  await server?.close()
  await Promise.all([a?.stop(), b?.stop(), a2?.stop(), b2?.stop()])
})

/** fetch over node:http from a chosen loopback address: another client address */
const fetchFrom = (localAddress: string) => nodeHttpFetch({ localAddress })

async function metric(name: string): Promise<number> {
  const text = await (await fetch(`${server.url}/metrics`)).text()
  const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text)
  return m ? Number(m[1]) : Number.NaN
}

describe('e2e (Node): a flood of replayed starts', () => {
  it(`${STARTS} starts replaying one evidence document from one address: genuine agents from other addresses all succeed, state stays flat`, async () => {
    const captured = evidenceSet('tpm-a-devid-rsa') as Record<string, string>
    const flooder = fetchFrom('127.0.0.9')
    const body = JSON.stringify({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: captured } })
    const statuses = new Map<number, number>()
    global.gc?.()
    const rss0 = process.memoryUsage().rss
    let sent = 0
    const flood = Promise.all(
      Array.from({ length: IN_FLIGHT }, async () => {
        while (sent < STARTS) {
          sent++
          const r = await flooder(`${server.url}/v1/attest`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
          await r.arrayBuffer()
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1)
        }
      }),
    )
    // genuine agents, each from its own address, attesting while the flood runs (tpm-a's own evidence is the one replayed)
    const genuine: [LiveAgent, string, string][] = [
      [a, 'tpm-a-devid-rsa', '127.0.0.2'],
      [b, 'tpm-b-devid-rsa', '127.0.0.3'],
      [a2, 'tpm-a-devid-p256', '127.0.0.4'],
      [b2, 'tpm-b-devid-rsa', '127.0.0.5'],
    ]
    const genuineResults = Promise.all(
      genuine.map(async ([agent, set, address]) => {
        const out: number[] = []
        for (let i = 0; i < 3; i++) {
          const r = await attestOverHttp(server.url, agent, evidenceSet(set) as Record<string, string>, { fetch: fetchFrom(address) })
          out.push(r.answer?.status ?? r.start.status)
        }
        return out
      }),
    )
    const [, results] = await Promise.all([flood, genuineResults])
    const rss1 = process.memoryUsage().rss
    const okFlood = statuses.get(200) ?? 0
    const limited = statuses.get(429) ?? 0
    console.log(
      `flood: ${STARTS} starts -> ${okFlood} challenged, ${limited} rate limited; genuine ${results.flat().filter((s) => s === 200).length}/${results.flat().length}; rss ${(rss0 / 2 ** 20).toFixed(0)} -> ${(rss1 / 2 ** 20).toFixed(0)} MiB`,
    )
    // every genuine attestation got its SVID
    expect(results.flat()).toEqual(Array(12).fill(200))
    // the flood: challenged up to the per-address burst (+ refill), the rest refused; nothing else
    expect(okFlood + limited).toBe(STARTS)
    expect(okFlood).toBeGreaterThan(0)
    expect(okFlood).toBeLessThan(Math.min(STARTS, 600 + 60 * 120))
    // no state per start: no live sessions, use-once records from the 12 answers only
    expect(await metric('vouch_sessions_active')).toBe(0)
    expect(await server.server.usedSessions()).toBe(12)
    // memory bounded (generous: it includes this test's own client and the fixture TPM tools)
    expect(rss1 - rss0).toBeLessThan(256 * 2 ** 20)
  }, 300_000)
})
