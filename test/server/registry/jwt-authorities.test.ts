/**
 * Replicas' JWT-SVID authorities on a real PostgreSQL (skipped, with the reason, where it cannot
 * run): publication, the lease, retirement, the purge, the bounds, rows that are not served, the
 * read cache, and a database that stops answering. The clock is each instance's own `now`.
 */
import { createServer, type Socket } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { JwtAuthority } from '../../../server/ca/jwt-authority.ts'
import { openPostgres } from '../../../server/entry/postgres.ts'
import {
  JWT_AUTHORITIES_MAX_AGE_MS,
  JWT_AUTHORITY_LEASE_MS,
  JWT_AUTHORITY_RENEW_MS,
  MAX_JWT_AUTHORITIES,
  MAX_JWT_SVID_TTL_MS,
  SharedJwtAuthorities,
} from '../../../server/registry/jwt-authorities.ts'
import { migratePostgres, PgAgentRegistry } from '../../../server/registry/registry-pg.ts'
import type { AsyncSqlDatabase } from '../../../server/registry/sql.ts'
import { postgresMissing, startPostgres, type TestPostgres } from '../../support/postgres.ts'

const missing = postgresMissing()
let pg: TestPostgres | undefined
let counter = 0
const open: AsyncSqlDatabase[] = []
const T0 = Date.parse('2026-12-06T10:00:00Z')

async function freshDb(): Promise<AsyncSqlDatabase> {
  const db = await openPostgres(await pg!.createDatabase(`vouch_jwt_${process.pid}_${++counter}`), { max: 2 })
  open.push(db)
  await migratePostgres(db)
  return db
}

/** a replica's view: its own key and clock */
async function replica(db: AsyncSqlDatabase, clock: { t: number }, logs: Record<string, unknown>[] = []) {
  const { authority } = await JwtAuthority.create(crypto.subtle)
  const logger = {
    log: () => {},
    info: (msg: string, f = {}) => void logs.push({ level: 'info', msg, ...f }),
    warn: (msg: string, f = {}) => void logs.push({ level: 'warn', msg, ...f }),
    error: (msg: string, f = {}) => void logs.push({ level: 'error', msg, ...f }),
  }
  return { authority, set: new SharedJwtAuthorities(db, authority, { now: () => clock.t, logger }) }
}

const kids = (s: SharedJwtAuthorities) => s.current().map(([kid]) => kid)
const rows = async (db: AsyncSqlDatabase) =>
  (await db.all('SELECT kid, published_at, expires_at FROM jwt_authorities ORDER BY published_at, kid')).map((r) => ({
    kid: String(r.kid),
    publishedAt: Number(r.published_at),
    expiresAt: Number(r.expires_at),
  }))

describe.skipIf(missing)('JWT-SVID authorities shared on PostgreSQL', () => {
  beforeAll(async () => {
    pg = await startPostgres()
  }, 60_000)
  afterAll(async () => {
    await Promise.all(open.map((db) => db.close().catch(() => undefined)))
    pg?.stop()
  })

  it('each replica publishes its key; every replica serves all of them, its own first', async () => {
    const db = await freshDb()
    const clock = { t: T0 }
    const a = await replica(db, clock)
    const b = await replica(db, clock)
    expect(kids(a.set)).toEqual([a.authority.kid]) // before any read: its own key alone
    await a.set.publish()
    await b.set.publish()
    expect(kids(b.set)).toEqual([b.authority.kid, a.authority.kid])
    // a's cached list is still its first read; after the max age it reads b's key too
    expect(kids(a.set)).toEqual([a.authority.kid])
    clock.t += JWT_AUTHORITIES_MAX_AGE_MS
    await a.set.refresh()
    expect(kids(a.set)).toEqual([a.authority.kid, b.authority.kid])
    expect(a.set.current()[1]![1]).toEqual(b.authority.publicJwk)
    const byKid = (x: { kid: string }, y: { kid: string }) => (x.kid < y.kid ? -1 : 1)
    expect((await rows(db)).sort(byKid)).toEqual(
      [
        { kid: a.authority.kid, publishedAt: T0, expiresAt: T0 + JWT_AUTHORITY_LEASE_MS },
        { kid: b.authority.kid, publishedAt: T0, expiresAt: T0 + JWT_AUTHORITY_LEASE_MS },
      ].sort(byKid),
    )
  })

  it('the bundle sequence: a new key or a purge increments the shared counter, a renewal does not; every replica reads it', async () => {
    const db = await freshDb()
    const clock = { t: T0 }
    const registry = await PgAgentRegistry.open(db)
    const views: number[][] = [[], []]
    const withSequence = async (i: number) => {
      const { authority } = await JwtAuthority.create(crypto.subtle)
      const sequence = {
        next: async () => registry.nextSequence('bundle_sequence'),
        read: async () => registry.sequence('bundle_sequence'),
        seen: (n: number) => void views[i]!.push(n),
      }
      return new SharedJwtAuthorities(db, authority, { now: () => clock.t, sequence, renewMs: 1000, leaseMs: 10_000 })
    }
    const a = await withSequence(0)
    const b = await withSequence(1)
    await a.publish()
    expect(await registry.sequence('bundle_sequence')).toBe(1)
    await b.publish()
    expect(await registry.sequence('bundle_sequence')).toBe(2)
    // renewals: the same keys, no change
    clock.t += 2000
    await a.publish()
    await b.publish()
    expect(await registry.sequence('bundle_sequence')).toBe(2)
    // b stops renewing; once its lease is over, a's next publication purges it: one more
    clock.t += 11_000
    await a.publish()
    expect(await registry.sequence('bundle_sequence')).toBe(3)
    // b reads what a wrote when it reloads
    clock.t += JWT_AUTHORITIES_MAX_AGE_MS + 1
    await b.refresh()
    expect(views[0]!.at(-1)).toBe(3)
    expect(views[1]!.at(-1)).toBe(3)
  })

  /** replicas whose bundle sequence is the shared counter; `views[i]` the values replica i read (the last: what it serves) */
  async function sequenced(db: AsyncSqlDatabase, clock: { t: number }, n: number, options: { leaseMs: number; maxAgeMs?: number }) {
    const registry = await PgAgentRegistry.open(db)
    const views: number[][] = Array.from({ length: n }, () => [])
    const sets = await Promise.all(
      views.map(async (view) => {
        const { authority } = await JwtAuthority.create(crypto.subtle)
        const sequence = {
          next: async () => registry.nextSequence('bundle_sequence'),
          read: async () => registry.sequence('bundle_sequence'),
          seen: (v: number) => void view.push(v),
        }
        return { authority, set: new SharedJwtAuthorities(db, authority, { now: () => clock.t, sequence, renewMs: 1000, ...options }) }
      }),
    )
    return { registry, views, sets }
  }

  it('a key that expires between publications: left out from its expiry, read again at once, and served with a higher sequence', async () => {
    const db = await freshDb()
    const clock = { t: T0 }
    // a max age far longer than the lease: only the expiry can make the list be read again here
    const { registry, views, sets } = await sequenced(db, clock, 2, { leaseMs: 10_000, maxAgeMs: 3_600_000 })
    const [a, b] = sets as [(typeof sets)[0], (typeof sets)[0]]
    await a.set.publish()
    await b.set.publish()
    clock.t += 1
    await a.set.publish() // a renewal: a reads b's key, no new sequence
    expect(kids(a.set)).toEqual([a.authority.kid, b.authority.kid])
    const before = views[0]!.at(-1)!
    expect(before).toBe(await registry.sequence('bundle_sequence'))
    // b stops renewing; its lease ends at T0 + 10 s, long before a's list is due for a read
    clock.t = T0 + 10_000 - 1
    await a.set.refresh()
    expect(kids(a.set)).toEqual([a.authority.kid, b.authority.kid])
    expect(views[0]!.at(-1)).toBe(before)
    clock.t = T0 + 10_000
    expect(kids(a.set)).toEqual([a.authority.kid]) // never served past its expiry, even before the read
    await a.set.refresh()
    expect(kids(a.set)).toEqual([a.authority.kid])
    expect(views[0]!.at(-1)).toBeGreaterThan(before)
    expect(await registry.sequence('bundle_sequence')).toBe(views[0]!.at(-1))
    expect((await rows(db)).map((r) => r.kid)).toEqual([a.authority.kid]) // purged by the read
  })

  it('a request at the expiry that joins a read begun just before it: the list is read again, never the shorter list under the old sequence', async () => {
    const db = await freshDb()
    const clock = { t: T0 }
    const { registry, views, sets } = await sequenced(db, clock, 2, { leaseMs: 10_000, maxAgeMs: JWT_AUTHORITIES_MAX_AGE_MS })
    const [a, b] = sets as [(typeof sets)[0], (typeof sets)[0]]
    await b.set.publish()
    clock.t += 1
    await a.set.publish() // a reads b's key, expiring at T0 + 10 s (a's own 1 ms later)
    const before = views[0]!.at(-1)!
    // a's list is due for a read (max age) 1 ms before b's lease ends: a read begins then ...
    clock.t = T0 + 10_000 - 1
    const begun = a.set.refresh()
    // ... and a bundle request at the expiry finds that read under way
    clock.t = T0 + 10_000
    await Promise.all([begun, a.set.refresh()])
    // what the bundle then serves: the list without b's key, under a sequence above the one served with it
    expect(kids(a.set)).toEqual([a.authority.kid])
    expect(views[0]!.at(-1)).toBeGreaterThan(before)
    expect(await registry.sequence('bundle_sequence')).toBe(views[0]!.at(-1))
    expect((await rows(db)).map((r) => r.kid)).toEqual([a.authority.kid])
  })

  it("two replicas, after a third one's key expires: both leave it out and serve one sequence, higher than before", async () => {
    const db = await freshDb()
    const clock = { t: T0 }
    const { views, sets } = await sequenced(db, clock, 3, { leaseMs: 10_000 })
    const [a, b, c] = sets as [(typeof sets)[0], (typeof sets)[0], (typeof sets)[0]]
    for (const r of [a, b, c]) await r.set.publish()
    clock.t += 8_000
    for (const r of [a, b]) await r.set.publish() // renewals (to T0 + 18 s); c has stopped
    expect(new Set(kids(a.set))).toEqual(new Set([a.authority.kid, b.authority.kid, c.authority.kid]))
    expect(new Set(kids(b.set))).toEqual(new Set(kids(a.set)))
    expect(views[0]!.at(-1)).toBe(views[1]!.at(-1))
    const before = views[0]!.at(-1)!
    clock.t = T0 + 10_000 // c's lease is over
    await Promise.all([a.set.refresh(), b.set.refresh()])
    // read again once the other's read is done (a read racing another's purge may serve its own
    // increment until its next read)
    clock.t += JWT_AUTHORITIES_MAX_AGE_MS
    await a.set.refresh()
    await b.set.refresh()
    expect(new Set(kids(a.set))).toEqual(new Set([a.authority.kid, b.authority.kid]))
    expect(new Set(kids(b.set))).toEqual(new Set(kids(a.set)))
    expect(views[0]!.at(-1)).toBeGreaterThan(before)
    expect(views[1]!.at(-1)).toBe(views[0]!.at(-1))
  })

  it('renewal keeps one row per key and moves its expiry; the maintain step renews only when due', async () => {
    const db = await freshDb()
    const clock = { t: T0 }
    const a = await replica(db, clock)
    await a.set.publish()
    clock.t += JWT_AUTHORITY_RENEW_MS - 1
    await a.set.maintain()
    expect(await rows(db)).toEqual([{ kid: a.authority.kid, publishedAt: T0, expiresAt: T0 + JWT_AUTHORITY_LEASE_MS }])
    clock.t += 1
    await a.set.maintain()
    expect(await rows(db)).toEqual([
      { kid: a.authority.kid, publishedAt: T0, expiresAt: T0 + JWT_AUTHORITY_RENEW_MS + JWT_AUTHORITY_LEASE_MS },
    ])
    // a publication never shortens a row (an instance with a slow clock renewing the same key)
    const slow = new SharedJwtAuthorities(db, a.authority, { now: () => T0 })
    await slow.publish()
    expect((await rows(db))[0]!.expiresAt).toBe(T0 + JWT_AUTHORITY_RENEW_MS + JWT_AUTHORITY_LEASE_MS)
  })

  it('a replica that stops renewing is served until its lease ends, then no longer, and its row is purged', async () => {
    const db = await freshDb()
    const clock = { t: T0 }
    const gone = await replica(db, clock)
    const live = await replica(db, clock)
    await gone.set.publish()
    await live.set.publish()
    // the live replica renews every hour; the other one has vanished
    while (clock.t < T0 + JWT_AUTHORITY_LEASE_MS - JWT_AUTHORITY_RENEW_MS) {
      clock.t += JWT_AUTHORITY_RENEW_MS
      await live.set.maintain()
    }
    expect(kids(live.set)).toEqual([live.authority.kid, gone.authority.kid])
    clock.t = T0 + JWT_AUTHORITY_LEASE_MS
    await live.set.refresh()
    expect(kids(live.set)).toEqual([live.authority.kid])
    await live.set.maintain()
    expect((await rows(db)).map((r) => r.kid)).toEqual([live.authority.kid])
  })

  it('a retired key stays as long as a token it signed can live, then goes; a restart with it publishes it again', async () => {
    const db = await freshDb()
    const clock = { t: T0 }
    const a = await replica(db, clock)
    const b = await replica(db, clock)
    await a.set.publish()
    await b.set.publish()
    clock.t += 60_000
    await a.set.retire()
    expect((await rows(db)).find((r) => r.kid === a.authority.kid)!.expiresAt).toBe(clock.t + MAX_JWT_SVID_TTL_MS)
    clock.t += MAX_JWT_SVID_TTL_MS - 1
    await b.set.refresh()
    expect(kids(b.set)).toContain(a.authority.kid)
    // at the expiry itself a fresh read leaves it out, and b's cached list does once it is reread
    clock.t += 1
    const view = new SharedJwtAuthorities(db, b.authority, { now: () => clock.t })
    await view.refresh()
    expect(kids(view)).toEqual([b.authority.kid])
    clock.t += JWT_AUTHORITIES_MAX_AGE_MS
    await b.set.refresh()
    expect(kids(b.set)).toEqual([b.authority.kid])
    // a retirement never lengthens a row: retiring again later changes nothing
    const before = await rows(db)
    await a.set.retire()
    expect(await rows(db)).toEqual(before)
    // the same key published again (the replica restarted) is served again
    await a.set.publish()
    clock.t += JWT_AUTHORITIES_MAX_AGE_MS
    await b.set.refresh()
    expect(kids(b.set)).toEqual([b.authority.kid, a.authority.kid])
  })

  it(`bounds: at most ${MAX_JWT_AUTHORITIES} served, the own key always, then those expiring last; expired rows purged`, async () => {
    const db = await freshDb()
    const clock = { t: T0 }
    const many = []
    for (let i = 0; i < MAX_JWT_AUTHORITIES + 8; i++) {
      clock.t += 1000
      const r = await replica(db, clock)
      await r.set.publish()
      many.push(r)
    }
    const first = many[0]!
    clock.t += JWT_AUTHORITIES_MAX_AGE_MS
    await first.set.refresh()
    const served = kids(first.set)
    expect(served).toHaveLength(MAX_JWT_AUTHORITIES)
    expect(served[0]).toBe(first.authority.kid)
    // then the others expiring last (here the newest), down to the cap
    expect(served.slice(1)).toEqual(
      many
        .slice(-(MAX_JWT_AUTHORITIES - 1))
        .reverse()
        .map((r) => r.authority.kid),
    )
    expect(await rows(db)).toHaveLength(MAX_JWT_AUTHORITIES + 8)
    // all but one stop; past their leases the next publication purges them
    clock.t += JWT_AUTHORITY_LEASE_MS
    await first.set.publish()
    expect((await rows(db)).map((r) => r.kid)).toEqual([first.authority.kid])
  })

  it('the cap keeps the live replicas: keys of restarted replicas (each with a new key) do not push out one that renews', async () => {
    // a fleet whose pods get a new dataDir, so a new JWT key, at each start: 40 starts in a day
    // while replica `live` runs since T0 and renews every hour
    const db = await freshDb()
    const clock = { t: T0 }
    const live = await replica(db, clock)
    const other = await replica(db, clock)
    await live.set.publish()
    await other.set.publish()
    for (let i = 0; i < MAX_JWT_AUTHORITIES + 8; i++) {
      clock.t += 1_800_000
      await live.set.maintain()
      await other.set.maintain()
      const churned = await replica(db, clock)
      await churned.set.publish()
      await churned.set.retire() // stopped cleanly: its key stays 24 h for the tokens it signed
    }
    clock.t += JWT_AUTHORITIES_MAX_AGE_MS
    await other.set.refresh()
    // a JWT-SVID `live` signs now must verify against `other`'s bundle and JWKS
    expect(kids(other.set)).toHaveLength(MAX_JWT_AUTHORITIES)
    expect(kids(other.set)).toContain(live.authority.kid)
  })

  it('rows that are not a P-256 public JWK are not served, and are logged', async () => {
    const db = await freshDb()
    const clock = { t: T0 }
    const logs: Record<string, unknown>[] = []
    const a = await replica(db, clock, logs)
    const exp = T0 + JWT_AUTHORITY_LEASE_MS
    const { authority: p256 } = await JwtAuthority.create(crypto.subtle)
    const bad: [string, string][] = [
      ['garbage', 'not json'],
      ['array', '[]'],
      ['private', JSON.stringify({ ...p256.publicJwk, d: 'AAAA' })],
      ['p384', JSON.stringify({ kty: 'EC', crv: 'P-384', x: 'A'.repeat(64), y: 'A'.repeat(64) })],
      ['rsa', JSON.stringify({ kty: 'RSA', n: 'AQAB', e: 'AQAB' })],
      ['short', JSON.stringify({ ...p256.publicJwk, x: 'AAAA' })],
      ['k'.repeat(129), JSON.stringify(p256.publicJwk)],
      // a key under a kid that is not its thumbprint
      ['good', JSON.stringify(p256.publicJwk)],
    ]
    for (const [kid, jwk] of bad) await db.run('INSERT INTO jwt_authorities VALUES (?, ?, ?, ?)', [kid, jwk, T0, exp])
    await db.run('INSERT INTO jwt_authorities VALUES (?, ?, ?, ?)', [
      p256.kid,
      JSON.stringify({ ...p256.publicJwk, alg: 'ES384' }),
      T0,
      exp,
    ])
    await a.set.publish()
    expect(kids(a.set)).toEqual([a.authority.kid, p256.kid])
    // served as the bare public key (no member of the row's beyond kty, crv, x and y)
    expect(a.set.current()[1]![1]).toEqual(p256.publicJwk)
    expect(logs.filter((l) => l.msg === 'JWT authority row ignored: not a P-256 public JWK').map((l) => l.kid)).toHaveLength(bad.length)
  })

  it("a row holding another key under a replica's kid is not served, and the replica's next publication replaces it", async () => {
    const db = await freshDb()
    const clock = { t: T0 }
    const a = await replica(db, clock)
    const b = await replica(db, clock)
    const { authority: intruder } = await JwtAuthority.create(crypto.subtle)
    // written before b's first publication: b's kid, the intruder's key, a long expiry
    await db.run('INSERT INTO jwt_authorities VALUES (?, ?, ?, ?)', [
      b.authority.kid,
      JSON.stringify(intruder.publicJwk),
      T0,
      T0 + 10 * JWT_AUTHORITY_LEASE_MS,
    ])
    await a.set.publish()
    expect(kids(a.set)).toEqual([a.authority.kid])
    await b.set.publish()
    clock.t += JWT_AUTHORITIES_MAX_AGE_MS
    await a.set.refresh()
    expect(a.set.current()).toEqual([
      [a.authority.kid, a.authority.publicJwk],
      [b.authority.kid, b.authority.publicJwk],
    ])
  })

  it('a database that accepts connections but never answers: refresh() still settles with the last list', async () => {
    // a network partition to the PostgreSQL primary: the TCP connection opens, nothing comes back
    const held: Socket[] = []
    const blackHole = createServer((s) => void held.push(s))
    await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', r))
    const port = (blackHole.address() as { port: number }).port
    const db = await openPostgres(`postgres://vouch@127.0.0.1:${port}/vouch`, { max: 1 })
    const clock = { t: T0 }
    const { authority } = await JwtAuthority.create(crypto.subtle)
    const set = new SharedJwtAuthorities(db, authority, { now: () => clock.t, refreshWaitMs: 50 })
    try {
      // the bundle and JWKS routes await this before answering (server/app.ts)
      await set.refresh()
      expect(kids(set)).toEqual([authority.kid])
      clock.t += JWT_AUTHORITIES_MAX_AGE_MS
      await set.refresh()
      expect(kids(set)).toEqual([authority.kid])
    } finally {
      for (const s of held) s.destroy()
      await db.close().catch(() => undefined)
      blackHole.close()
    }
  }, 10_000)

  it('a database that stops answering: the last list is served, the failures logged once, not thrown; a new connection reads again', async () => {
    const url = await pg!.createDatabase(`vouch_jwt_${process.pid}_${++counter}`)
    const db = await openPostgres(url, { max: 1 })
    await migratePostgres(db)
    const clock = { t: T0 }
    const logs: Record<string, unknown>[] = []
    const a = await replica(db, clock, logs)
    const other = await replica(db, clock)
    await other.set.publish()
    await a.set.publish()
    expect(kids(a.set)).toEqual([a.authority.kid, other.authority.kid])
    await db.close()
    for (let i = 0; i < 3; i++) {
      clock.t += JWT_AUTHORITIES_MAX_AGE_MS
      await a.set.refresh()
    }
    expect(kids(a.set)).toEqual([a.authority.kid, other.authority.kid])
    expect(logs.filter((l) => l.msg === 'JWT authorities not read: serving the last list')).toHaveLength(1)
    await a.set.maintain() // a renewal due now fails and is logged, not thrown
    clock.t += JWT_AUTHORITY_RENEW_MS
    await a.set.maintain()
    expect(logs.some((l) => l.msg === 'JWT authority publication failed' && l.kid === a.authority.kid)).toBe(true)
    // a new connection: the next read succeeds and says so
    const again = await openPostgres(url, { max: 1 })
    open.push(again)
    const b = new SharedJwtAuthorities(again, a.authority, { now: () => clock.t })
    await b.publish()
    expect(kids(b)).toEqual([a.authority.kid, other.authority.kid])
  })
})
