/**
 * Policy reload without restart, on a real Node server with a live fixture swtpm agent: a bad
 * document is refused with every issue logged and the old policy stays in force; a good one
 * applies to new sessions (a session opened before finishes under the old policy); /ready and
 * /metrics show the generation and the SHA-256 of the file; SIGHUP rereads when watching is off.
 */
import { createHash } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { loadConfigFile } from '../../../server/entry/bootstrap.ts'
import { startNodeServer, type RunningServer } from '../../../server/entry/node.ts'
import { evidenceSet, LiveAgent } from '../../core/attestation/live-agent.ts'
import { attestOverHttp } from '../../e2e/http-agent.ts'
import { policyDocument, writeServerFiles } from '../../e2e/setup.ts'

let agent: LiveAgent
beforeAll(async () => {
  agent = await LiveAgent.start('tpm-a')
}, 60_000)
afterAll(async () => {
  await agent?.stop()
})

function withTemplate(template: string) {
  const doc = policyDocument()
  const p = (doc.spec.policies as Record<string, unknown>[])[0]!
  return { ...doc, spec: { policies: [{ ...p, spiffeIDTemplate: template }] } }
}
const sha = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex')
const evidence = () => evidenceSet('tpm-a-devid-rsa') as Record<string, string>

async function start(extra = '') {
  const files = writeServerFiles({ policy: withTemplate('/a/{{tpm_devid.certificate.serial_number}}'), extra })
  const logs: Record<string, unknown>[] = []
  const s = await startNodeServer(loadConfigFile(files.configPath, {}), {
    write: (l) => logs.push(JSON.parse(l) as Record<string, unknown>),
  })
  return { s, files, logs }
}
async function ready(s: RunningServer) {
  return (await (await fetch(`${s.url}/ready`)).json()) as { status: string; policy: { generation: number; sha256: string } }
}
async function metrics(s: RunningServer) {
  return (await fetch(`${s.url}/metrics`)).text()
}

describe('policy reload (file watch)', () => {
  it('refuses a bad document (every issue logged, old policy in force), applies a good one to new sessions only', async () => {
    const { s, files, logs } = await start()
    try {
      expect(await ready(s)).toMatchObject({ status: 'ok', policy: { generation: 1, sha256: sha(files.policy) } })
      expect(await metrics(s)).toContain(`vouch_policy_info{sha256="${sha(files.policy)}"} 1`)
      const first = await attestOverHttp(s.url, agent, evidence())
      expect(first.answer!.body.spiffeId).toMatch(/^spiffe:\/\/example\.org\/a\//)

      // a document with two faults: both logged, nothing applied
      const bad = {
        section: 'AgentAttestation',
        schema: 'v2',
        spec: { policies: [{ name: 'x', spiffeIDTemplate: '/x', requiredAttestors: [{ type: 'tpm_devid', config: {} }] }] },
      }
      writeFileSync(files.policy, JSON.stringify(bad))
      await vi.waitFor(() => expect(logs.some((l) => l.msg === 'Policy unchanged')).toBe(true), { timeout: 10_000 })
      const refused = logs.filter((l) => l.msg === 'Policy refused')
      expect(refused.length).toBeGreaterThanOrEqual(2)
      expect(refused.map((l) => l.at)).toEqual(expect.arrayContaining(['schema']))
      expect(refused.some((l) => /devIDCACerts/.test(String(l.error)))).toBe(true)
      expect(s.server.policy.state.generation).toBe(1)
      expect(await metrics(s)).toContain('vouch_policy_reload_failures_total 1')
      const stillA = await attestOverHttp(s.url, agent, evidence())
      expect(stillA.answer!.body.spiffeId).toMatch(/^spiffe:\/\/example\.org\/a\//)

      // a good document written while a session is open: the open one ends under A, new ones run B
      const open = await attestOverHttp(s.url, agent, evidence(), {
        beforeAnswer: async () => {
          writeFileSync(files.policy, JSON.stringify(withTemplate('/b/{{tpm_devid.certificate.serial_number}}')))
          await vi.waitFor(() => expect(s.server.policy.state.generation).toBe(2), { timeout: 10_000 })
        },
      })
      expect(open.answer!.body.spiffeId).toMatch(/^spiffe:\/\/example\.org\/a\//)
      const next = await attestOverHttp(s.url, agent, evidence())
      expect(next.answer!.body.spiffeId).toMatch(/^spiffe:\/\/example\.org\/b\//)
      expect(await ready(s)).toMatchObject({ status: 'ok', policy: { generation: 2, sha256: sha(files.policy) } })
      const m = await metrics(s)
      expect(m).toContain('vouch_policy_generation 2')
      expect(m).toContain(`vouch_policy_info{sha256="${sha(files.policy)}"} 1`)
      expect(logs.some((l) => l.msg === 'Policy applied' && l.generation === 2 && l.reason === 'file changed')).toBe(true)
    } finally {
      await s.close()
    }
  }, 60_000)
})

describe('policy reload (SIGHUP)', () => {
  it('with policyWatch false a change is not applied until SIGHUP', async () => {
    const { s, files, logs } = await start('policyWatch: false\n')
    try {
      writeFileSync(files.policy, JSON.stringify(withTemplate('/c/{{tpm_devid.certificate.serial_number}}')))
      // not watched: a whole attestation later (many event-loop turns past the watcher's 100 ms
      // debounce) the old policy still decides
      const before = await attestOverHttp(s.url, agent, evidence())
      expect(before.answer!.body.spiffeId).toMatch(/^spiffe:\/\/example\.org\/a\//)
      expect(s.server.policy.state.generation).toBe(1)
      process.kill(process.pid, 'SIGHUP')
      await vi.waitFor(() => expect(s.server.policy.state.generation).toBe(2), { timeout: 10_000 })
      expect(logs.some((l) => l.msg === 'Policy applied' && l.reason === 'SIGHUP')).toBe(true)
      const r = await attestOverHttp(s.url, agent, evidence())
      expect(r.answer!.body.spiffeId).toMatch(/^spiffe:\/\/example\.org\/c\//)
      // the same bytes again: unchanged, no new generation
      process.kill(process.pid, 'SIGHUP')
      await new Promise((r) => setImmediate(r))
      expect(s.server.policy.state.generation).toBe(2)
    } finally {
      await s.close()
    }
  }, 60_000)
})
