/**
 * JWT-SVID authorities shared by replicas, as SPIRE shares its JWT keys: each replica's private key
 * stays with it (dataDir/ca/jwt.key), and its public key is published in the shared database,
 * `jwt_authorities(kid PRIMARY KEY, jwk, published_at, expires_at)` (migration 6). Every replica
 * serves every published, unexpired key in its bundle (`/v1/bundle`, `use: jwt-svid`) and its
 * OIDC JWKS, so a JWT-SVID signed by one replica verifies against the bundle of any other.
 *
 * A publication is a lease: a running replica renews its own row every JWT_AUTHORITY_RENEW_MS
 * (from `maintain()`) to expire JWT_AUTHORITY_LEASE_MS later, twice the longest JWT-SVID lifetime,
 * so a token it signed stays verifiable through missed renewals. A replica that stops cleanly
 * retires its key: the row then expires once the last token it could have signed has (now + the
 * longest JWT-SVID lifetime); a restart with the same key publishes it again. A replica that
 * vanishes leaves its row to the lease. Expired rows are purged at each read of the list
 * (publications included).
 *
 * Bounds: one row per key (the kid is the key's RFC 7638 thumbprint), so a replica adds a row
 * only when its key changes; rows leave at most a lease after their last renewal; and at most
 * MAX_JWT_AUTHORITIES are served (the replica's own key, then those that expire last: a running
 * replica renews its lease every hour, so keys of replicas that stopped or restarted with a new
 * key, however many and however recent, never push a running replica's key out).
 *
 * The bundle's sequence (`spiffe_sequence`) is the shared counter the CA rotation increments: a
 * replica also increments it when it adds or replaces its key, and when it finds keys expired.
 * Every read of the list (`load`: at most every JWT_AUTHORITIES_MAX_AGE_MS when the bundle or JWKS
 * is asked for, at once when a listed key's expiry is reached, and at each publication) first looks
 * for rows whose expiry is reached at its clock; finding some, it increments the counter and only
 * then deletes them (`purgeExpired`). It then reads the unexpired rows and, after them, the counter.
 * So a list from which a key has dropped because it expired is served with a sequence above every
 * sequence served with that key: the reader deleted the row itself after incrementing, or another
 * replica did, which incremented before its delete committed, and the counter is read after the
 * rows. Replicas reading the same rows read the same counter (two that find the same rows expired
 * at once both increment: each serves what it read until its next read, within the max age).
 * Between reads, `current()` leaves out a key once its expiry is reached and `refresh()` reads
 * again before the bundle is served; only while the database cannot be read (failing, or slower
 * than JWT_AUTHORITIES_REFRESH_WAIT_MS) is a key left out under the last sequence read. The
 * replica's own key is always served.
 *
 * Reads are cached: `current()` answers from memory; `refresh()` (awaited by the bundle and JWKS
 * routes) reloads when the list is older than JWT_AUTHORITIES_MAX_AGE_MS. A database that fails
 * leaves the last list in place (always holding the replica's own key); one that does not answer
 * at all is waited for at most JWT_AUTHORITIES_REFRESH_WAIT_MS per request, then the last list is
 * served while the read goes on.
 */
import { toBase64Url, utf8 } from '../../core/bytes/encoding.ts'
import type { PublicJwk } from '../../core/svid/jwk.ts'
import { parsePublicJwk } from '../../core/svid/jwk.ts'
import type { JwtAuthority } from '../ca/jwt-authority.ts'
import { MAX_JWT_TTL_SECONDS } from '../entries/validate.ts'
import type { Logger } from '../logging.ts'
import type { AsyncSqlQueries } from './sql.ts'

/** The longest a JWT-SVID may live (an entry's jwtSvidTtl), ms. */
export const MAX_JWT_SVID_TTL_MS = MAX_JWT_TTL_SECONDS * 1000
/** How long a publication lasts without renewal: twice the longest JWT-SVID lifetime (48 h). */
export const JWT_AUTHORITY_LEASE_MS = 2 * MAX_JWT_SVID_TTL_MS
/** How often a running replica renews its publication. */
export const JWT_AUTHORITY_RENEW_MS = 3_600_000
/** How old the served list may be before a bundle or JWKS request reloads it. */
export const JWT_AUTHORITIES_MAX_AGE_MS = 5_000
/** How long a bundle or JWKS request waits for a reload before it is answered with the last list. */
export const JWT_AUTHORITIES_REFRESH_WAIT_MS = 2_000
/** The most JWT authorities served (and read per reload). */
export const MAX_JWT_AUTHORITIES = 32
const MAX_KID_LENGTH = 128
const MAX_JWK_LENGTH = 1024

export type JwtAuthorityEntry = readonly [kid: string, jwk: PublicJwk]

/** The JWT authorities an app serves: its own key alone, or every replica's (SharedJwtAuthorities). */
export interface JwtAuthoritySource {
  /** the authorities to serve now, the replica's own first */
  current(): readonly JwtAuthorityEntry[]
  /** brings current() up to date when it is stale; never rejects */
  refresh(): Promise<void>
}

export interface SharedJwtAuthoritiesOptions {
  /** clock, ms since the epoch */
  readonly now: () => number
  readonly logger?: Logger
  readonly leaseMs?: number
  readonly renewMs?: number
  readonly maxAgeMs?: number
  /** default JWT_AUTHORITIES_REFRESH_WAIT_MS */
  readonly refreshWaitMs?: number
  /**
   * The shared bundle sequence (SPIFFE `spiffe_sequence`, changed on every content change): bumped
   * when this replica adds, replaces or purges a key; read with every reload and told to the
   * server, so replicas serve one sequence for one list
   */
  readonly sequence?: BundleSequence
}

export interface BundleSequence {
  /** increments the shared sequence */
  next(): Promise<unknown>
  /** reads the shared sequence */
  read(): Promise<number>
  /** the value read (the server keeps the highest it has seen) */
  seen(value: number): void
}

/** A published row: what the bundle serves, and when it stops. */
export interface PublishedJwtAuthority {
  readonly kid: string
  readonly jwk: PublicJwk
  readonly publishedAt: number
  readonly expiresAt: number
}

// the kid is the key's thumbprint: a row of this kid holding another key is not this key's, and
// is replaced
// is replaced; the row's key before the statement comes back (null: a new row)
const PUBLISH = `WITH before AS (SELECT jwk FROM jwt_authorities WHERE kid = ?)
  INSERT INTO jwt_authorities (kid, jwk, published_at, expires_at) VALUES (?, ?, ?, ?)
  ON CONFLICT (kid) DO UPDATE SET jwk = excluded.jwk, expires_at = CASE WHEN excluded.expires_at > jwt_authorities.expires_at
    THEN excluded.expires_at ELSE jwt_authorities.expires_at END
  RETURNING (SELECT jwk FROM before) AS previous`

/** RFC 7638 §3.2 thumbprint of a P-256 public JWK (base64url SHA-256), the kid of a vouch JWT authority. */
async function p256Thumbprint(x: string, y: string): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', utf8(`{"crv":"P-256","kty":"EC","x":"${x}","y":"${y}"}`))
  return toBase64Url(new Uint8Array(digest))
}

/**
 * A row as published, or undefined when it is not a P-256 public JWK under its own thumbprint as
 * kid (it is then not served): a row cannot put a key under another key's kid.
 */
async function toPublished(row: Record<string, unknown>): Promise<PublishedJwtAuthority | undefined> {
  const kid = row.kid
  const text = row.jwk
  if (typeof kid !== 'string' || kid === '' || kid.length > MAX_KID_LENGTH) return undefined
  if (typeof text !== 'string' || text.length > MAX_JWK_LENGTH) return undefined
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined
    const jwk = parsePublicJwk(value as Record<string, unknown>, `jwt authority ${kid}`)
    // every vouch JWT authority signs ES256 (the OIDC JWKS names that algorithm)
    if (jwk?.kty !== 'EC' || jwk.crv !== 'P-256') return undefined
    if ((await p256Thumbprint(jwk.x, jwk.y)) !== kid) return undefined
    return {
      kid,
      jwk: { kty: 'EC', crv: 'P-256', x: jwk.x, y: jwk.y },
      publishedAt: Number(row.published_at),
      expiresAt: Number(row.expires_at),
    }
  } catch {
    return undefined
  }
}

export class SharedJwtAuthorities implements JwtAuthoritySource {
  private list: readonly JwtAuthorityEntry[]
  /** when each listed key of another replica expires (the own key is always served) */
  private expiries = new Map<string, number>()
  /** the earliest of `expiries`: from then current() leaves keys out and refresh() reads again */
  private nextExpiry = Number.POSITIVE_INFINITY
  /** when refresh() reads again: the max age after a read (or a failed one), or a listed key's expiry if sooner */
  private readAgainAt = Number.NEGATIVE_INFINITY
  private renewedAt = Number.NEGATIVE_INFINITY
  private loading: Promise<void> | undefined
  private failing = false
  private readonly leaseMs: number
  private readonly renewMs: number
  private readonly maxAgeMs: number
  private readonly refreshWaitMs: number

  constructor(
    private readonly db: AsyncSqlQueries,
    private readonly own: JwtAuthority,
    private readonly o: SharedJwtAuthoritiesOptions,
  ) {
    this.leaseMs = o.leaseMs ?? JWT_AUTHORITY_LEASE_MS
    this.renewMs = o.renewMs ?? JWT_AUTHORITY_RENEW_MS
    this.maxAgeMs = o.maxAgeMs ?? JWT_AUTHORITIES_MAX_AGE_MS
    this.refreshWaitMs = o.refreshWaitMs ?? JWT_AUTHORITIES_REFRESH_WAIT_MS
    this.list = [[own.kid, own.publicJwk]]
  }

  /** Publishes (or renews) the replica's own key, purges expired rows, and reloads the list. Rejects when the database does. */
  async publish(): Promise<void> {
    const now = this.o.now()
    const jwk = JSON.stringify(this.own.publicJwk)
    const published = await this.db.get(PUBLISH, [this.own.kid, this.own.kid, jwk, now, now + this.leaseMs])
    this.renewedAt = now
    // a renewal changes no bundle; a new or replaced key does (and expired keys, purged by the read)
    if (published?.previous !== jwk) await this.o.sequence?.next()
    await this.load()
  }

  /**
   * Deletes the rows whose expiry is reached at `now`, incrementing the shared sequence first when
   * there are some (so no replica can read the shorter list under the old sequence); the rows deleted.
   */
  async purgeExpired(now: number): Promise<number> {
    const due = await this.db.get('SELECT count(*) AS n FROM jwt_authorities WHERE expires_at <= ?', [now])
    if (Number(due?.n ?? 0) === 0) return 0
    await this.o.sequence?.next()
    return this.db.run('DELETE FROM jwt_authorities WHERE expires_at <= ?', [now])
  }

  /** The periodic step: renews the publication when due (a failure is logged; the next pass tries again). */
  async maintain(): Promise<void> {
    if (this.o.now() - this.renewedAt < this.renewMs) return
    await this.publish().catch((e: unknown) =>
      this.o.logger?.warn('JWT authority publication failed', { kid: this.own.kid, error: (e as Error).message }),
    )
  }

  /**
   * At a clean stop: the own key's row expires once every token it could have signed has (now +
   * the longest JWT-SVID lifetime), unless it already expires sooner.
   */
  async retire(): Promise<void> {
    const now = this.o.now()
    await this.db.run('UPDATE jwt_authorities SET expires_at = ? WHERE kid = ? AND expires_at > ?', [
      now + MAX_JWT_SVID_TTL_MS,
      this.own.kid,
      now + MAX_JWT_SVID_TTL_MS,
    ])
  }

  current(): readonly JwtAuthorityEntry[] {
    const now = this.o.now()
    if (now < this.nextExpiry) return this.list
    // a key expired since the list was read: never served past its expiry (refresh() reads again)
    return this.list.filter(([kid]) => (this.expiries.get(kid) ?? Number.POSITIVE_INFINITY) > now)
  }

  refresh(): Promise<void> {
    if (this.o.now() < this.readAgainAt) return Promise.resolve()
    const loading = (this.loading ??= this.loadCurrent()
      .then(
        () => {
          if (this.failing) this.o.logger?.info('JWT authorities read again', { authorities: this.list.length })
          this.failing = false
        },
        (e: unknown) => {
          // keep serving the last list; say so once per outage, and try again after maxAgeMs
          this.readAgainAt = this.o.now() + this.maxAgeMs
          if (!this.failing) this.o.logger?.warn('JWT authorities not read: serving the last list', { error: (e as Error).message })
          this.failing = true
        },
      )
      .finally(() => {
        this.loading = undefined
      }))
    // a database that does not answer (a partition: no error, no reply) must not hold the bundle and
    // JWKS requests: past the wait they get the last list, and the read goes on
    let timer: ReturnType<typeof setTimeout> | undefined
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, this.refreshWaitMs)
    })
    return Promise.race([loading, waited]).finally(() => clearTimeout(timer))
  }

  /** The unexpired published keys (at `now`), those expiring last first (at most MAX_JWT_AUTHORITIES), as the database holds them. */
  async published(now = this.o.now()): Promise<PublishedJwtAuthority[]> {
    const rows = await this.db.all(
      'SELECT kid, jwk, published_at, expires_at FROM jwt_authorities WHERE expires_at > ? ORDER BY expires_at DESC, kid LIMIT ?',
      [now, MAX_JWT_AUTHORITIES],
    )
    const published = await Promise.all(rows.map(toPublished))
    return published.flatMap((p, i) => {
      if (!p)
        this.o.logger?.warn('JWT authority row ignored: not a P-256 public JWK', {
          kid: String(rows[i]!.kid).slice(0, MAX_KID_LENGTH),
        })
      return p ? [p] : []
    })
  }

  /**
   * Reads the list until no listed key has expired by the end of the read: a request at a key's
   * expiry can join a read begun just before it, which still holds the key, and current() would
   * then leave it out under the sequence read with it; the next read purges it under a new one.
   */
  private async loadCurrent(): Promise<void> {
    do await this.load()
    while (this.o.now() >= this.nextExpiry)
  }

  /** Purges the expired rows (incrementing the sequence), then reads the rows, then the sequence: in that order (see the top of this file). */
  private async load(): Promise<void> {
    const now = this.o.now()
    await this.purgeExpired(now)
    const rows = await this.published(now)
    if (this.o.sequence) this.o.sequence.seen(await this.o.sequence.read())
    const others = rows.filter((p) => p.kid !== this.own.kid).slice(0, MAX_JWT_AUTHORITIES - 1)
    const own: JwtAuthorityEntry = [this.own.kid, this.own.publicJwk]
    this.list = [own, ...others.map((p): JwtAuthorityEntry => [p.kid, p.jwk])]
    this.expiries = new Map(others.map((p) => [p.kid, p.expiresAt]))
    this.nextExpiry = Math.min(Number.POSITIVE_INFINITY, ...others.map((p) => p.expiresAt))
    this.readAgainAt = Math.min(this.o.now() + this.maxAgeMs, this.nextExpiry)
  }
}

/** The app's source when nothing is shared (SQLite, or no database): the replica's own key. */
export function ownJwtAuthority(own: JwtAuthority): JwtAuthoritySource {
  const list: readonly JwtAuthorityEntry[] = [[own.kid, own.publicJwk]]
  return { current: () => list, refresh: () => Promise.resolve() }
}
