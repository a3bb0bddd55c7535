// The primary of `workers: N` (server/entry/cluster.ts) with stand-in workers that die soon after
// they start (test/server/entry/cluster-worker.mjs, real processes through node:cluster): each is
// restarted after a delay that doubles per failure in a row up to its cap, a worker that ran long
// enough starts the count again, and a worker that keeps failing stops the server (exit code 1).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { parseServerConfig, type ServerConfig } from '../../../server/config.ts'
import { RESTART_POLICY, restartDelayMs, startClusterPrimary } from '../../../server/entry/cluster.ts'
import { policyDocument } from '../../e2e/setup.ts'

const dir = mkdtempSync(join(tmpdir(), 'vouch-cluster-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const exec = resolve(import.meta.dirname, 'cluster-worker.mjs')

function config(): ServerConfig {
  const policy = join(dir, 'policy.json')
  writeFileSync(policy, JSON.stringify(policyDocument()))
  const parsed = parseServerConfig(
    `trustDomain: example.org\nlisten: "127.0.0.1:0"\ndataDir: ${join(dir, 'data')}\npolicy: ${policy}\ntls: false\n`,
  )
  // the stand-in workers touch no database: the primary's own SQLite registry is enough here
  return { ...parsed, workers: 2 }
}

type Line = Record<string, unknown> & { msg: string }

describe('cluster primary: restarts', () => {
  it('the default delays: 250 ms doubling to 10 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => restartDelayMs(n))).toEqual([250, 500, 1000, 2000, 4000, 8000, 10_000, 10_000, 10_000])
    expect(RESTART_POLICY.maxFailures).toBe(8)
  })

  it('a worker that keeps dying is restarted with doubling delays, then the server stops with exit code 1', async () => {
    process.env.CLUSTER_TEST_CRASH_MS = '60'
    const lines: Line[] = []
    const primary = await startClusterPrimary(config(), {
      write: (l) => lines.push(JSON.parse(l) as Line),
      exec,
      restart: { baseMs: 20, maxMs: 80, maxFailures: 4, stableMs: 60_000 },
    })
    // both listened before the start resolved (they die 60 ms later, so their pids are not checked here)
    expect(lines.find((l) => l.msg === 'Server listening')).toMatchObject({ workers: 2 })
    expect(await primary.failed).toBe(1)
    await primary.close()
    const gaveUp = lines.find((l) => l.msg === 'Worker keeps failing: stopping the server')!
    expect(gaveUp).toMatchObject({ level: 'error', failures: 4 })
    const delays = lines.filter((l) => l.msg === 'Worker exited' && l.worker === gaveUp.worker).map((l) => l.restartInMs)
    expect(delays).toEqual([20, 40, 80, 80])
    expect(lines.filter((l) => l.msg === 'Worker exited').every((l) => l.code === 3)).toBe(true)
    expect(primary.pids()).toEqual([])
  }, 30_000)

  it('a worker that ran past stableMs starts the count again: every restart waits the base delay', async () => {
    process.env.CLUSTER_TEST_CRASH_MS = '120'
    const lines: Line[] = []
    const primary = await startClusterPrimary(config(), {
      write: (l) => lines.push(JSON.parse(l) as Line),
      exec,
      restart: { baseMs: 20, maxMs: 80, maxFailures: 2, stableMs: 100 },
    })
    const end = Date.now() + 15_000
    while (lines.filter((l) => l.msg === 'Worker restarted').length < 6 && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
    await primary.close()
    const exited = lines.filter((l) => l.msg === 'Worker exited')
    expect(exited.length).toBeGreaterThanOrEqual(6)
    expect(exited.every((l) => l.restartInMs === 20)).toBe(true)
    expect(lines.some((l) => l.msg === 'Worker keeps failing: stopping the server')).toBe(false)
  }, 30_000)
})
