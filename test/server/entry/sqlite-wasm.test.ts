/**
 * The node-sqlite3-wasm driver after a crash inside a statement: the lock directory left by a
 * process that is gone is removed at open at once (reported as 'holders-gone', not by age), while
 * a lock whose registered owner lives is waited for. The staleLockMs and busy timeouts are far
 * longer than the test, so passing means the wait path was not taken.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { openSqliteWasm, processStart, type StaleLockEvent } from '../../../server/entry/sqlite-wasm.ts'
import { AgentRegistry } from '../../../server/registry/registry.ts'

const children: ChildProcess[] = []
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})

/** a live process to stand in for another server, and the owner entry it would have written */
function otherOwner(path: string): ChildProcess {
  const child = spawn('sleep', ['60'], { stdio: 'ignore' })
  children.push(child)
  mkdirSync(`${path}.owners`, { recursive: true })
  writeFileSync(
    join(`${path}.owners`, String(child.pid)),
    JSON.stringify({ pid: child.pid, start: processStart(child.pid!), host: hostname() }),
  )
  return child
}

function freshDb(): string {
  const path = join(mkdtempSync(join(tmpdir(), 'vouch-lock-')), 'agents.db')
  new AgentRegistry(openSqliteWasm(path)).close()
  return path
}

describe('node-sqlite3-wasm: a crashed holder', () => {
  it('a fresh lock whose registered owner was killed is removed at open, at once', async () => {
    const path = freshDb()
    const holder = otherOwner(path)
    mkdirSync(`${path}.lock`) // the holder was inside a statement
    holder.kill('SIGKILL')
    await new Promise((r) => holder.once('exit', r))
    const events: StaleLockEvent[] = []
    const db = openSqliteWasm(path, { staleLockMs: 3_600_000, busyTimeoutMs: 3_600_000, onStaleLock: (e) => events.push(e) })
    const r = new AgentRegistry(db)
    expect(r.list()).toEqual([])
    expect(events).toEqual([{ reason: 'holders-gone', deadOwners: [holder.pid], when: 'open' }])
    expect(existsSync(`${path}.lock`)).toBe(false)
    // the dead owner's entry is gone, ours is there until close
    expect(readdirSync(`${path}.owners`)).toEqual([String(process.pid)])
    r.close()
    expect(readdirSync(`${path}.owners`)).toEqual([])
  })

  it('an entry with this process id but another start time is an earlier process (pid reuse, e.g. pid 1 in a container)', () => {
    const path = freshDb()
    mkdirSync(`${path}.owners`, { recursive: true })
    writeFileSync(join(`${path}.owners`, String(process.pid)), JSON.stringify({ pid: process.pid, start: '1', host: hostname() }))
    mkdirSync(`${path}.lock`)
    const events: StaleLockEvent[] = []
    const r = new AgentRegistry(
      openSqliteWasm(path, { staleLockMs: 3_600_000, busyTimeoutMs: 3_600_000, onStaleLock: (e) => events.push(e) }),
    )
    expect(events.map((e) => e.reason)).toEqual(['holders-gone'])
    r.close()
  })

  it('a fresh lock whose owner lives is not removed: the statement waits and reports busy', () => {
    const path = freshDb()
    otherOwner(path)
    mkdirSync(`${path}.lock`)
    const events: StaleLockEvent[] = []
    expect(
      () => new AgentRegistry(openSqliteWasm(path, { staleLockMs: 3_600_000, busyTimeoutMs: 50, onStaleLock: (e) => events.push(e) })),
    ).toThrow(/database is locked/)
    expect(events).toEqual([])
    expect(existsSync(`${path}.lock`)).toBe(true)
  })

  it('an owner on another host leaves only the age rule', () => {
    const path = freshDb()
    mkdirSync(`${path}.owners`, { recursive: true })
    writeFileSync(join(`${path}.owners`, '4242'), JSON.stringify({ pid: 4242, start: '7', host: `${hostname()}-elsewhere` }))
    mkdirSync(`${path}.lock`)
    expect(() => new AgentRegistry(openSqliteWasm(path, { staleLockMs: 3_600_000, busyTimeoutMs: 50 }))).toThrow(/database is locked/)
  })
})
