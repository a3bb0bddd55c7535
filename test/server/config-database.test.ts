import { describe, expect, it } from 'vitest'
import { parseServerConfig, serverConfigKeys } from '../../server/config.ts'
import { BASE_CONFIG, configErrorOf } from './config-error.ts'

describe('server config database', () => {
  it('is absent by default (SQLite in dataDir), a postgres:// URL from the file, and VOUCH_DATABASE_URL wins', () => {
    expect(parseServerConfig(BASE_CONFIG).database).toBeUndefined()
    expect(parseServerConfig(`${BASE_CONFIG}database: postgres://vouch@db:5432/vouch\n`).database).toBe('postgres://vouch@db:5432/vouch')
    expect(
      parseServerConfig(`${BASE_CONFIG}database: postgres://vouch@db:5432/vouch\n`, { VOUCH_DATABASE_URL: 'postgresql://u:pw@other/reg' })
        .database,
    ).toBe('postgresql://u:pw@other/reg')
    expect(parseServerConfig(BASE_CONFIG, { VOUCH_DATABASE_URL: 'postgres:///reg?host=/run/postgresql' }).database).toBe(
      'postgres:///reg?host=/run/postgresql',
    )
    expect(serverConfigKeys()).toContainEqual({ key: 'database', env: 'VOUCH_DATABASE_URL' })
  })

  it('refuses what is not a postgres URL with a host and a database, naming the key and never the password', () => {
    const cases: [string, RegExp][] = [
      ['mysql://u@h/db', /expected a postgres:\/\/ URL .*found scheme "mysql:"/],
      ['/var/lib/vouch/agents.db', /expected a postgres:\/\/user@host:port\/database URL/],
      ['postgres://u:secret@h:5432/', /expected a database name in the URL path, found "postgres:\/\/u:\*\*\*@h:5432\/"/],
      ['postgres://u:secret@h:99999/db', /expected a postgres:\/\/user@host:port\/database URL, found "postgres:\/\/u:\*\*\*@h:99999\/db"/],
      ['42', /expected a postgres/],
    ]
    for (const [url, message] of cases) {
      const e = configErrorOf(BASE_CONFIG, { VOUCH_DATABASE_URL: url })
      expect(e.key, url).toBe('database')
      expect(e.message, url).toMatch(message)
      expect(e.message).not.toContain('secret')
    }
    expect(configErrorOf(`${BASE_CONFIG}database: [1]\n`).message).toMatch(/^config database: expected a non-empty string/)
  })
})
