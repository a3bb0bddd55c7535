import { describe, expect, it } from 'vitest'
import { MAX_WORKERS, parseServerConfig, serverConfigKeys } from '../../server/config.ts'
import { BASE_CONFIG, configErrorOf } from './config-error.ts'

const PG = 'database: postgres://vouch@db:5432/vouch\n'

describe('server config workers', () => {
  it('is 1 by default; a whole number from the file, and VOUCH_WORKERS wins', () => {
    expect(parseServerConfig(BASE_CONFIG).workers).toBe(1)
    expect(parseServerConfig(`${BASE_CONFIG}${PG}workers: 4\n`).workers).toBe(4)
    expect(parseServerConfig(`${BASE_CONFIG}${PG}workers: 4\n`, { VOUCH_WORKERS: '2' }).workers).toBe(2)
    expect(parseServerConfig(`${BASE_CONFIG}${PG}`, { VOUCH_WORKERS: String(MAX_WORKERS) }).workers).toBe(MAX_WORKERS)
    expect(serverConfigKeys()).toContainEqual({ key: 'workers', env: 'VOUCH_WORKERS' })
  })

  it('refuses what is not a whole number from 1 to MAX_WORKERS, naming the key', () => {
    for (const v of ['0', '-1', '1.5', 'auto', '"two"', String(MAX_WORKERS + 1), 'true']) {
      const e = configErrorOf(`${BASE_CONFIG}${PG}workers: ${v}\n`)
      expect(e.key, v).toBe('workers')
      expect(e.message, v).toMatch(new RegExp(`^config workers: expected a whole number from 1 to ${MAX_WORKERS}, found `))
    }
  })

  it('more than one worker needs sealed sessions: sessions: memory is refused with the reason', () => {
    const e = configErrorOf(`${BASE_CONFIG}${PG}workers: 2\nsessions: memory\n`)
    expect(e.key).toBe('workers')
    expect(e.message).toBe(
      'config workers: 2 workers need sessions: sealed (a session started on one worker must be answerable on another; sessions: memory keeps it in one process)',
    )
    expect(parseServerConfig(`${BASE_CONFIG}workers: 1\nsessions: memory\n`).sessions).toBe('memory')
  })

  it('more than one worker needs PostgreSQL: the embedded SQLite registry is refused with the reason', () => {
    const e = configErrorOf(`${BASE_CONFIG}workers: 2\n`)
    expect(e.key).toBe('workers')
    expect(e.message).toMatch(
      /^config workers: 2 workers need database: postgres:\/\/\.\.\. \(the embedded SQLite driver does not recover a write interrupted by a worker's crash/,
    )
    expect(configErrorOf(BASE_CONFIG, { VOUCH_WORKERS: '3' }).message).toMatch(/^config workers: 3 workers need database/)
    expect(parseServerConfig(`${BASE_CONFIG}workers: 2\n`, { VOUCH_DATABASE_URL: 'postgres://vouch@db/vouch' }).workers).toBe(2)
  })
})
