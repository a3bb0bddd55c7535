/**
 * A real PostgreSQL for tests: initdb into a temporary directory (trust auth, unix socket in that
 * directory, TCP on 127.0.0.1 and a free port), run as an unprivileged user (`nobody` through
 * runuser when the tests run as root, which PostgreSQL refuses), stopped and removed by `stop()`.
 * The binaries come from Debian's postgresql-15 (/usr/lib/postgresql/15/bin, installed by
 * scripts/ensure-system.sh); `postgresMissing()` names what is absent so suites can skip with
 * that reason and nothing else.
 */
import { execFileSync } from 'node:child_process'
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { freePort } from './free-port.ts'

function binDir(): string | undefined {
  const root = '/usr/lib/postgresql'
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v))
    .sort((a, b) => Number(b) - Number(a))
  return versions.map((v) => join(root, v, 'bin')).find((d) => existsSync(join(d, 'pg_ctl')) && existsSync(join(d, 'initdb')))
}

/** Why a real PostgreSQL cannot start here, or undefined when it can. */
export function postgresMissing(): string | undefined {
  if (!binDir()) return 'PostgreSQL server binaries missing (/usr/lib/postgresql/*/bin/pg_ctl): run scripts/ensure-system.sh as root'
  if (process.getuid?.() === 0 && !existsSync('/usr/sbin/runuser') && !existsSync('/sbin/runuser'))
    return 'running as root without runuser to start PostgreSQL as nobody'
  return undefined
}

export interface TestPostgres {
  readonly port: number
  /** postgres://nobody@127.0.0.1:port/<database> */
  url(database: string): string
  /** CREATE DATABASE through psql-free SQL: uses the `pg` client against the maintenance db */
  createDatabase(name: string): Promise<string>
  stop(): void
}

const USER = 'nobody'

function asUser(cmd: string, args: string[]): string {
  const root = process.getuid?.() === 0
  const [file, argv] = root ? ['runuser', ['-u', USER, '--', cmd, ...args]] : [cmd, args]
  return execFileSync(file, argv, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 })
}

export interface StartPostgresOptions {
  /** durable commits (fsync on), as in production; default off (tests need no durability) */
  readonly fsync?: boolean
}

export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const bin = binDir()!
  const root = process.getuid?.() === 0
  const dir = mkdtempSync(join(tmpdir(), 'vouch-pg-'))
  chmodSync(dir, 0o700)
  const user = root ? USER : (process.env.USER ?? 'postgres')
  if (root) {
    const uid = Number(execFileSync('id', ['-u', USER], { encoding: 'utf8' }).trim())
    const gid = Number(execFileSync('id', ['-g', USER], { encoding: 'utf8' }).trim())
    chownSync(dir, uid, gid)
  }
  const data = join(dir, 'data')
  asUser(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', user, '--no-sync', '-E', 'UTF8'])
  let port = 0
  for (let attempt = 0; ; attempt++) {
    port = await freePort()
    try {
      asUser(join(bin, 'pg_ctl'), [
        '-D',
        data,
        '-l',
        join(dir, 'log'),
        '-w',
        '-t',
        '30',
        '-o',
        `-k ${dir} -p ${port} -c listen_addresses=127.0.0.1 -c fsync=${options.fsync ? 'on' : 'off'}`,
        'start',
      ])
      break
    } catch (e) {
      if (attempt >= 3) {
        rmSync(dir, { recursive: true, force: true })
        throw e
      }
    }
  }
  const url = (database: string) => `postgres://${user}@127.0.0.1:${port}/${database}`
  return {
    port,
    url,
    async createDatabase(name) {
      const { default: pg } = await import('pg')
      const client = new pg.Client({ connectionString: url('postgres') })
      await client.connect()
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '')}"`)
      } finally {
        await client.end()
      }
      return url(name)
    },
    stop() {
      try {
        asUser(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'])
      } finally {
        rmSync(dir, { recursive: true, force: true })
      }
    },
  }
}
