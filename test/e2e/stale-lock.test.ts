/**
 * `vouch server` killed with SIGKILL inside a SQLite statement restarts at once. The kill cannot
 * be timed to land inside a statement, so after a real SIGKILL the lock directory that statement
 * would leave is created; the owner entry is the one the killed server really wrote. The restart
 * must start (it used to wait busy_timeout, fail "database is locked" and exit 2 until the lock
 * was 10 s old) and log that it removed the crashed holder's lock.
 */
import { mkdirSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { writeServerFiles } from './setup.ts'
import { spawnServer, type Child } from './spawn-server.ts'

let server: Child | undefined
afterAll(async () => {
  await server?.kill()
})

describe('e2e: restart after kill -9 inside a statement', () => {
  it('starts at once, removing the dead holder lock', async () => {
    const files = writeServerFiles()
    server = await spawnServer('node', files.configPath)
    const pid = server.proc.pid!
    const db = join(files.dataDir, 'agents.db')
    expect(readdirSync(`${db}.owners`)).toEqual([String(pid)])
    await server.kill('SIGKILL')
    mkdirSync(`${db}.lock`)

    server = await spawnServer('node', files.configPath)
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200)
    const lines = server
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
    expect(lines.find((l) => l.msg === 'Stale database lock cleared')).toMatchObject({
      level: 'warn',
      reason: 'holders-gone',
      deadOwners: [pid],
      when: 'open',
    })
  }, 60_000)
})
