/**
 * `vouch server` with `workers: 2` on a real PostgreSQL (a child process: the primary and its two
 * node:cluster workers), a live fixture swtpm agent, and no session keys configured (the primary
 * makes one keyring and gives it to both workers). Every request goes on a new connection, so the
 * primary hands consecutive requests to alternate workers: a session started on one worker is
 * answered by the other, which the log lines show (each worker's lines carry its id and pid).
 * SIGHUP reaches both workers; a worker killed with SIGKILL is restarted and the service keeps
 * attesting; new CA files plus SIGHUP restart the workers onto the new CA; SIGTERM stops all.
 * A second service started with the operator's VOUCH_SESSION_KEYS hands that keyring to its
 * workers over IPC as well, and starts them without the variable. A third, with a sessionKeys file
 * and VOUCH_DATABASE_URL, gives its workers the URL alone; a worker restarted after its config
 * became unreadable exits (and is restarted again) rather than hang, so SIGTERM still stops all.
 */
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createNodePlatform } from '../../runtimes/node/index.ts'
import { ServerCa } from '../../server/ca/authority.ts'
import { evidenceSet, LiveAgent } from '../core/attestation/live-agent.ts'
import { postgresMissing, startPostgres, type TestPostgres } from '../support/postgres.ts'
import { attestOverHttp, nodeHttpFetch } from './http-agent.ts'
import { policyDocument, writeServerFiles } from './setup.ts'
import { spawnServer, type Child } from './spawn-server.ts'

const missing = postgresMissing()
let pg: TestPostgres | undefined
let agent: LiveAgent | undefined
let server: Child | undefined
let files: ReturnType<typeof writeServerFiles>

/** fetch over node:http on a new connection each time (agent: false), so requests spread over the workers */
const freshFetch = nodeHttpFetch({ agent: false })

type Line = Record<string, unknown> & { msg: string }
const lines = (child: Child = server!): Line[] =>
  child
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .flatMap((l) => {
      try {
        return [JSON.parse(l) as Line]
      } catch {
        return []
      }
    })
const linesOf = (msg: string, child: Child = server!) => lines(child).filter((l) => l.msg === msg)

/** the pids of the processes whose command line holds `text` */
function processesWith(text: string): number[] {
  return readdirSync('/proc').flatMap((d) => {
    if (!/^\d+$/.test(d)) return []
    try {
      return readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(text) ? [Number(d)] : []
    } catch {
      return [] // gone meanwhile
    }
  })
}

async function until(what: string, ok: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}:\n${server!.output().slice(-3000)}`)
    await new Promise((r) => setTimeout(r, 25))
  }
}

const evidence = () => evidenceSet('tpm-a-devid-rsa') as Record<string, string>

describe.skipIf(missing)('e2e (Node): vouch server with workers: 2 on PostgreSQL', () => {
  beforeAll(async () => {
    pg = await startPostgres()
    const url = await pg.createDatabase('vouch_workers')
    files = writeServerFiles({ extra: `database: ${url}\nworkers: 2\npolicyWatch: false\n` })
    agent = await LiveAgent.start('tpm-a')
    server = await spawnServer('node', files.configPath)
  }, 120_000)
  afterAll(async () => {
    await server?.kill('SIGKILL')
    await agent?.stop()
    pg?.stop()
    if (files) rmSync(files.dir, { recursive: true, force: true })
  })

  it('two workers listen; a session started on one is answered by the other', async () => {
    const listening = linesOf('Worker listening')
    expect(listening.map((l) => l.worker).sort()).toEqual([1, 2])
    expect(new Set(listening.map((l) => l.pid)).size).toBe(2)
    expect(listening.every((l) => l.pid !== server!.proc.pid)).toBe(true)
    expect(linesOf('Server listening')).toMatchObject([{ url: server!.url, workers: 2 }])
    for (let i = 0; i < 3; i++) {
      const r = await attestOverHttp(server!.url, agent!, evidence(), { fetch: freshFetch })
      expect(r.answer?.status, JSON.stringify(r.answer?.body ?? r.start.body)).toBe(200)
    }
    const starts = linesOf('Login started with multi-attestation support')
    const answers = linesOf('Authorization received and verified')
    expect(starts).toHaveLength(3)
    expect(answers).toHaveLength(3)
    // requests alternate between the workers: every session crossed from one to the other
    const crossed = starts.filter((s, i) => s.worker !== answers[i]!.worker)
    expect(crossed.length).toBeGreaterThan(0)
    expect(new Set([...starts, ...answers].map((l) => l.pid))).toEqual(new Set(listening.map((l) => l.pid)))
  }, 30_000)

  it('the generated keyring reaches the workers over IPC, never through their environment (/proc/<pid>/environ)', () => {
    const pids = linesOf('Worker listening').map((l) => l.pid as number)
    expect(pids).toHaveLength(2)
    for (const pid of [...pids, server!.proc.pid!]) {
      const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')
      expect(environ.filter((v) => v.startsWith('VOUCH_SESSION_KEYS='))).toEqual([])
      expect(environ.some((v) => /seal: true|key: [A-Za-z0-9+/]{43}=/.test(v))).toBe(false)
    }
    // the workers were told to ask for it (the sessions crossing workers above show they share it)
    for (const pid of pids) expect(readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')).toContain('VOUCH_WORKER_SECRETS_IPC=1')
  })

  it("an operator's VOUCH_SESSION_KEYS and VOUCH_DATABASE_URL reach the workers over IPC too; they start without them; sessions still cross workers", async () => {
    // the database only in the environment, with a password (trust authentication ignores it)
    const password = `pw${randomBytes(12).toString('hex')}`
    const withPassword = new URL(await pg!.createDatabase('vouch_workers_env'))
    withPassword.password = password
    const databaseUrl = withPassword.toString()
    expect(databaseUrl).toContain(`:${password}@127.0.0.1`)
    const other = writeServerFiles({ extra: 'workers: 2\npolicyWatch: false\n' })
    const key = randomBytes(32).toString('base64')
    const keys = `- { id: operator1, key: ${key}, seal: true }\n`
    const op = await spawnServer('node', other.configPath, { VOUCH_SESSION_KEYS: keys, VOUCH_DATABASE_URL: databaseUrl })
    try {
      const listening = linesOf('Worker listening', op)
      expect(listening.map((l) => l.worker).sort()).toEqual([1, 2])
      // each worker loaded the operator's keyring (its seal key id), and none was generated
      const loaded = linesOf('Session keys loaded', op).filter((l) => l.worker !== undefined)
      expect(loaded.map((l) => [l.worker, l.sealKeyId]).sort()).toEqual([
        [1, 'operator1'],
        [2, 'operator1'],
      ])
      expect(linesOf('Session keys: a random key for these workers', op)).toEqual([])
      const pids = listening.map((l) => l.pid as number)
      for (const pid of pids) {
        const environ = readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0')
        expect(environ.filter((v) => v.startsWith('VOUCH_SESSION_KEYS='))).toEqual([])
        expect(environ.some((v) => v.includes(key))).toBe(false)
        expect(environ.filter((v) => v.startsWith('VOUCH_DATABASE_URL='))).toEqual([])
        expect(environ.some((v) => v.includes(password))).toBe(false)
        expect(environ).toContain('VOUCH_WORKER_SECRETS_IPC=1')
      }
      // the primary was started with them (the operator's own environment); only the workers are spared
      expect(readFileSync(`/proc/${op.proc.pid}/environ`, 'latin1')).toContain(key)
      expect(readFileSync(`/proc/${op.proc.pid}/environ`, 'latin1')).toContain(password)
      for (let i = 0; i < 3; i++) {
        const r = await attestOverHttp(op.url, agent!, evidence(), { fetch: freshFetch })
        expect(r.answer?.status, JSON.stringify(r.answer?.body ?? r.start.body)).toBe(200)
      }
      const starts = linesOf('Login started with multi-attestation support', op)
      const answers = linesOf('Authorization received and verified', op)
      expect(answers).toHaveLength(3)
      expect(starts.filter((s, i) => s.worker !== answers[i]!.worker).length).toBeGreaterThan(0)
      // the workers wrote to the database the URL named: they got it over IPC
      const { default: pgClient } = await import('pg')
      const client = new pgClient.Client({ connectionString: pg!.url('vouch_workers_env') })
      await client.connect()
      try {
        const { rows } = await client.query('SELECT attestations FROM agents')
        expect(rows.map((r) => Number(r.attestations))).toEqual([3])
      } finally {
        await client.end()
      }
    } finally {
      await op.kill('SIGTERM')
      rmSync(other.dir, { recursive: true, force: true })
    }
  }, 40_000)

  it('SIGHUP to the primary reaches every worker (each rereads the policy)', async () => {
    const doc = policyDocument()
    ;(doc.spec.policies[0] as { name: string }).name = 'tpm_devid_policy_v2'
    writeFileSync(files.policy, JSON.stringify(doc))
    process.kill(server!.proc.pid!, 'SIGHUP')
    await until('Policy applied on both workers', () => new Set(linesOf('Policy applied').map((l) => l.worker)).size === 2)
    expect(linesOf('Policy applied').every((l) => l.generation === 2 && l.reason === 'SIGHUP')).toBe(true)
    const r = await attestOverHttp(server!.url, agent!, evidence(), { fetch: freshFetch })
    expect(r.answer?.body.policy).toBe('tpm_devid_policy_v2')
  }, 20_000)

  it('a worker killed with SIGKILL is restarted; the service keeps attesting', async () => {
    const victim = linesOf('Worker listening').find((l) => l.worker === 1)!.pid as number
    process.kill(victim, 'SIGKILL')
    await until('the worker restarted', () => linesOf('Worker restarted').length === 1)
    expect(linesOf('Worker exited')).toMatchObject([{ worker: 1, pid: victim, signal: 'SIGKILL', restartInMs: 250 }])
    const again = linesOf('Worker listening').filter((l) => l.worker === 1)
    expect(again).toHaveLength(2)
    expect(again[1]!.pid).not.toBe(victim)
    for (let i = 0; i < 2; i++) {
      const r = await attestOverHttp(server!.url, agent!, evidence(), { fetch: freshFetch })
      expect(r.answer?.status).toBe(200)
    }
  }, 20_000)

  it('new CA files and SIGHUP: the workers are replaced one at a time and serve the new CA', async () => {
    const { files: next } = await ServerCa.create('example.org', createNodePlatform(), globalThis.crypto.subtle)
    writeFileSync(join(files.dataDir, 'ca', 'ca.key'), next.privateKeyPem, { mode: 0o600 })
    writeFileSync(join(files.dataDir, 'ca', 'ca.pem'), next.certificatePem)
    process.kill(server!.proc.pid!, 'SIGHUP')
    await until('both workers replaced', () => linesOf('Worker replaced').length === 2, 20_000)
    for (let i = 0; i < 2; i++) {
      const pem = await (await freshFetch(`${server!.url}/v1/bundle.pem`)).text()
      expect(pem.replace(/\s/g, '')).toContain(next.certificatePem.replace(/-----[A-Z ]+-----|\s/g, ''))
    }
  }, 30_000)

  it('a worker that cannot listen (the port taken) fails the start: exit 2 with the reason, no worker left', () => {
    const other = writeServerFiles({ extra: `database: ${pg!.url('vouch_workers')}\nworkers: 2\n` })
    const port = new URL(server!.url).port
    writeFileSync(other.configPath, readFileSync(other.configPath, 'utf8').replace('127.0.0.1:0', `127.0.0.1:${port}`))
    const root = resolve(import.meta.dirname, '../..')
    const r = spawnSync(process.execPath, [join(root, 'bin/vouch.mjs'), 'server', '--config', other.configPath], {
      encoding: 'utf8',
      timeout: 30_000,
      env: { ...process.env, NODE_OPTIONS: '' },
    })
    rmSync(other.dir, { recursive: true, force: true })
    expect(r.status).toBe(2)
    expect(r.stderr).toContain(`vouch server: bind EADDRINUSE 127.0.0.1:${port}`)
    expect(r.stderr).toMatch(/vouch server: worker [12] exited \(code 2\) before it listened/)
    expect(r.stderr).not.toMatch(/\n\s+at /) // no stack trace
    const pids = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => (JSON.parse(l) as { pid?: number }).pid)
      .filter((p): p is number => typeof p === 'number')
    // a worker the primary stops early may not have logged a line: the pids logged are gone, and no
    // process runs with this config any more (workers run with the primary's arguments)
    expect(pids.length).toBeGreaterThan(0)
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/)
    expect(processesWith(other.configPath)).toEqual([])
  }, 40_000)

  it('a sessionKeys file with VOUCH_DATABASE_URL: the URL alone goes over IPC; a restarted worker that cannot read its config exits, and SIGTERM still stops all', async () => {
    const password = `pw${randomBytes(12).toString('hex')}`
    const withPassword = new URL(await pg!.createDatabase('vouch_workers_file'))
    withPassword.password = password
    const other = writeServerFiles({ extra: 'workers: 2\npolicyWatch: false\n' })
    const keysPath = join(other.dir, 'session-keys.yaml')
    writeFileSync(keysPath, `- { id: file1, key: ${randomBytes(32).toString('base64')}, seal: true }\n`, { mode: 0o600 })
    writeFileSync(other.configPath, `${readFileSync(other.configPath, 'utf8')}sessionKeys: ${keysPath}\n`)
    const op = await spawnServer('node', other.configPath, { VOUCH_DATABASE_URL: withPassword.toString() })
    const opLines = (msg: string) => lines(op).filter((l) => l.msg === msg)
    try {
      const listening = opLines('Worker listening')
      expect(listening.map((l) => l.worker).sort()).toEqual([1, 2])
      // each worker read the keyring file itself and got the database URL over IPC
      expect(opLines('Session keys loaded').filter((l) => l.worker !== undefined)).toMatchObject([{ source: 'file' }, { source: 'file' }])
      for (const l of listening) {
        const environ = readFileSync(`/proc/${l.pid as number}/environ`, 'latin1').split('\0')
        expect(environ.filter((v) => v.startsWith('VOUCH_DATABASE_URL='))).toEqual([])
        expect(environ).toContain('VOUCH_WORKER_SECRETS_IPC=1')
      }
      expect(op.output()).not.toContain(password)
      // the config file becomes unreadable as YAML; a worker dies: its replacement fails to read
      // the config and must exit (a failure the primary counts), not stay alive with no listener
      writeFileSync(other.configPath, 'trustDomain: [\n')
      const victim = listening.find((l) => l.worker === 1)!.pid as number
      process.kill(victim, 'SIGKILL')
      const end = Date.now() + 10_000
      while (opLines('Worker exited').length < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 25))
      expect(opLines('Worker exited')).toMatchObject([
        { worker: 1, pid: victim, signal: 'SIGKILL' },
        { worker: 1, restartInMs: 500 },
      ])
      expect(op.output()).toContain('config (file): not valid YAML')
      const exited = new Promise<number | null>((r) => op.proc.once('exit', (code) => r(code)))
      op.proc.kill('SIGTERM')
      expect(await exited).toBe(0)
      expect(processesWith(other.configPath)).toEqual([])
    } finally {
      await op.kill('SIGKILL')
      for (const pid of processesWith(other.configPath)) process.kill(pid, 'SIGKILL')
      rmSync(other.dir, { recursive: true, force: true })
    }
  }, 40_000)

  it('SIGTERM stops every worker, then the primary (exit 0)', async () => {
    const pids = [...new Set(linesOf('Worker listening').map((l) => l.pid as number))]
    const exited = new Promise<number | null>((r) => server!.proc.once('exit', (code) => r(code)))
    server!.proc.kill('SIGTERM')
    expect(await exited).toBe(0)
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow(/ESRCH/)
  }, 20_000)
})
