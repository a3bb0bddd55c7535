// `vouch server` with `workers`: the config errors that stop the start before anything runs. The
// running workers are tested in test/e2e/server-workers.test.ts.
import { afterEach, describe, expect, it } from 'vitest'
import { main } from '../../../cli/main.ts'
import { writeServerFiles } from '../../e2e/setup.ts'

async function run(argv: string[]) {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) })
  return { code, out, err }
}

afterEach(() => {
  delete (process.versions as Record<string, string | undefined>).bun
})

describe('vouch server --config with workers', () => {
  it('more than one worker without PostgreSQL, or with sessions: memory: exit 2 naming the key and the reason', async () => {
    const sqlite = await run(['server', '--config', writeServerFiles({ extra: 'workers: 2\n' }).configPath])
    expect(sqlite.code).toBe(2)
    expect(sqlite.err[0]).toMatch(/^vouch server: config workers: 2 workers need database: postgres:\/\/\.\.\. \(/)
    const memory = await run([
      'server',
      '--config',
      writeServerFiles({ extra: 'workers: 2\nsessions: memory\ndatabase: postgres://vouch@127.0.0.1:1/vouch\n' }).configPath,
      '--output',
      'json',
    ])
    expect(memory.code).toBe(2)
    const e = JSON.parse(memory.out[0]!) as { error: { code: string; message: string } }
    expect(e.error.code).toBe('ERR_CONFIG')
    expect(e.error.message).toMatch(/^config workers: 2 workers need sessions: sealed \(a session started on one worker/)
  })

  it('on Bun, more than one worker is refused before the server starts (node:cluster cannot share the socket there)', async () => {
    Object.defineProperty(process.versions, 'bun', { value: '1.1.0', configurable: true })
    // the database is never reached: the refusal comes first
    const r = await run([
      'server',
      '--config',
      writeServerFiles({ extra: 'workers: 3\ndatabase: postgres://vouch@127.0.0.1:1/vouch\n' }).configPath,
    ])
    expect(r.code).toBe(2)
    expect(r.err[0]).toBe(
      'vouch server: config workers: 3 workers are not supported on Bun (vouch shares the listening socket through node:cluster, which Bun cannot do); run the server on Node, or several Bun servers behind a load balancer',
    )
  })
})
