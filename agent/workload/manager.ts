/**
 * The agent's workload identity manager (issue 15): the {@link WorkloadIdentitySource} the
 * Workload API and SDS serve. With the node SVID of the last attestation it calls the server over
 * mTLS (server/routes/workload.ts): the trust bundle, the entries this agent is the parent of, and
 * for each entry a fresh P-256 key made here with a PKCS#10 request (proof of possession) for its
 * X.509-SVID. Keys stay in memory. Each SVID is checked against the bundle before it is served and
 * renewed at half its lifetime; entries are refreshed periodically and after every re-attestation;
 * the SVIDs of deleted entries are dropped, those of changed entries at once (before the new one is
 * issued) and expired ones even while the server is down, each announced to open streams. When
 * the server is unreachable, whatever is still valid is served and the sync is retried with
 * exponential backoff. Logs name entries and SPIFFE IDs, never keys or tokens.
 */
import { bytesEqual } from '../../core/bytes/equal.ts'
import { toBase64 } from '../../core/bytes/encoding.ts'
import { parsePemCertificates } from '../../core/bytes/pem.ts'
import { VerifyError } from '../../core/errors.ts'
import { defaultPlatform, type Platform, withPlatform } from '../../core/platform.ts'
import { jwkToPublicKey } from '../../core/svid/jwk.ts'
import { verifyJwtSvid } from '../../core/svid/jwt-svid.ts'
import { parseSpiffeBundle, type SpiffeBundle } from '../../core/svid/spiffe-bundle.ts'
import { parseSpiffeId } from '../../core/svid/spiffe-id.ts'
import { verifyX509Svid } from '../../core/svid/x509-svid.ts'
import { makeCertificationRequest } from '../../core/x509/make-csr.ts'
import { encodeSubjectPublicKeyInfo } from '../../core/x509/spki.ts'
import type { Logger } from '../log.ts'
import { parseEntries, sameEntry } from './entries.ts'
import { JwtSvidCache, jwtCacheKey } from './jwt-cache.ts'
import { type NodeCredentials, WorkloadServerClient } from './server-client.ts'
import type { WorkloadBundle, WorkloadChange, WorkloadEntry, WorkloadIdentitySource, WorkloadX509Svid } from './source.ts'

export const DEFAULT_MAX_ENTRIES = 1_000
export const DEFAULT_MAX_JWT_CACHE = 1_000
export const DEFAULT_REFRESH_INTERVAL_MS = 30_000
export const DEFAULT_BACKOFF = Object.freeze({ initialMs: 1_000, maxMs: 60_000 })
/** an SVID is never renewed sooner than this after its issuance (a lifetime shorter than the server's back-dating) */
export const MIN_ROTATION_MS = 1_000
/** X.509-SVID requests in flight during one sync */
export const ISSUE_CONCURRENCY = 4
/** the SPIFFE Workload API bound on audiences, as the server's */
export const MAX_JWT_AUDIENCES = 16

export interface WorkloadManagerOptions {
  /** the server base URL (https://) */
  readonly server: string
  readonly log: Logger
  /** crypto and the default clock */
  readonly platform?: Platform
  /** the clock rotation and caches use, ms since the epoch; default platform.now() */
  readonly now?: () => number
  /** entries kept per agent; more are dropped with a warning (default 1,000, the server's bound per parent) */
  readonly maxEntries?: number
  /** JWT-SVIDs cached (default 1,000) */
  readonly maxJwtCache?: number
  /** how often entries and the bundle are fetched again (default 30 s) */
  readonly refreshIntervalMs?: number
  /** retry after a failed sync: initialMs, doubling up to maxMs */
  readonly backoff?: { readonly initialMs: number; readonly maxMs: number }
  /** per request */
  readonly timeoutMs?: number
}

interface HeldSvid extends WorkloadX509Svid {
  /** when to renew: half the lifetime */
  readonly rotateAt: number
}

interface X509Answer {
  readonly spiffeId?: unknown
  readonly svid?: unknown
}

interface JwtAnswer {
  readonly spiffeId?: unknown
  readonly token?: unknown
}

/** What one sync did (for logs and tests). */
export interface SyncReport {
  readonly entries: number
  readonly issued: readonly string[]
  readonly dropped: readonly string[]
  readonly failed: readonly string[]
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e)
}

export class WorkloadManager implements WorkloadIdentitySource {
  private client: WorkloadServerClient
  private readonly platform: Platform
  private readonly now: () => number
  private readonly maxEntries: number
  private readonly refreshIntervalMs: number
  private readonly backoff: { readonly initialMs: number; readonly maxMs: number }
  private readonly jwts: JwtSvidCache
  private readonly jwtInflight = new Map<string, Promise<{ spiffeId: string; token: string }>>()
  private readonly listeners = new Set<(change: WorkloadChange) => void>()
  private node: NodeCredentials | undefined
  private trustDomain = ''
  private entries: readonly WorkloadEntry[] = []
  private readonly svids = new Map<string, HeldSvid>()
  private spiffeBundle: SpiffeBundle | undefined
  private bundleView: readonly WorkloadBundle[] = []
  private syncing: Promise<SyncReport> | undefined
  private queued: Promise<SyncReport> | undefined
  private timer: ReturnType<typeof setTimeout> | undefined
  private started = false
  private failures = 0

  constructor(private readonly o: WorkloadManagerOptions) {
    this.client = new WorkloadServerClient(o.server, o.timeoutMs)
    const base = o.platform ?? defaultPlatform()
    this.now = o.now ?? (() => base.now())
    this.platform = withPlatform({ now: this.now }, base)
    this.maxEntries = o.maxEntries ?? DEFAULT_MAX_ENTRIES
    this.refreshIntervalMs = o.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS
    this.backoff = o.backoff ?? DEFAULT_BACKOFF
    this.jwts = new JwtSvidCache(o.maxJwtCache ?? DEFAULT_MAX_JWT_CACHE)
  }

  // --- WorkloadIdentitySource ---

  x509Svids(): readonly WorkloadX509Svid[] {
    const now = this.now()
    const out: WorkloadX509Svid[] = []
    for (const e of this.entries) {
      const s = this.svids.get(e.id)
      if (s && s.notAfter.getTime() > now && s.notBefore.getTime() <= now) out.push(s)
    }
    return out
  }

  bundles(): readonly WorkloadBundle[] {
    return this.bundleView
  }

  onChange(listener: (change: WorkloadChange) => void): () => void {
    this.listeners.add(listener)
    return () => {
      this.listeners.delete(listener)
    }
  }

  async fetchJwtSvid(entryId: string, audience: readonly string[]): Promise<{ readonly spiffeId: string; readonly token: string }> {
    const entry = this.entries.find((e) => e.id === entryId)
    if (!entry)
      throw new VerifyError('ERR_ENTRY_NOT_FOUND', `entryId: no entry ${JSON.stringify(String(entryId).slice(0, 64))} for this agent`)
    if (
      !Array.isArray(audience) ||
      audience.length === 0 ||
      audience.length > MAX_JWT_AUDIENCES ||
      !audience.every((a) => typeof a === 'string' && a !== '' && a.length <= 256)
    )
      throw new VerifyError(
        'ERR_ENTRY_AUDIENCE_INVALID',
        `audience: expected 1..${MAX_JWT_AUDIENCES} non-empty strings of at most 256 characters`,
      )
    const key = jwtCacheKey(entryId, audience)
    const fresh = this.jwts.fresh(key, this.now())
    if (fresh) return { spiffeId: fresh.spiffeId, token: fresh.token }
    let p = this.jwtInflight.get(key)
    if (!p) {
      if (this.jwtInflight.size >= this.jwts.maxSize) throw new Error(`more than ${this.jwts.maxSize} JWT-SVID requests in flight`)
      p = this.issueJwt(entry, audience, key).finally(() => this.jwtInflight.delete(key))
      this.jwtInflight.set(key, p)
    }
    try {
      return await p
    } catch (e) {
      // the server is unreachable: a token past half life but not expired still serves
      const valid = this.jwts.valid(key, this.now())
      if (valid) {
        this.o.log.log('warn', 'JWT-SVID renewal failed; serving the cached one', { entryId, error: errorMessage(e) })
        return { spiffeId: valid.spiffeId, token: valid.token }
      }
      throw e
    }
  }

  // --- lifecycle ---

  /**
   * The node SVID of the latest attestation. The first call (or any after the node re-attested)
   * starts a sync with it: a new node SVID supersedes the old one on the server.
   */
  setNodeCredentials(node: NodeCredentials, server?: string): Promise<SyncReport> {
    // the replica the node attested with registered this SVID: fetch from it (replicas share a database)
    if (server !== undefined && server !== this.client.baseUrl) this.client = new WorkloadServerClient(server, this.o.timeoutMs)
    const td = parseSpiffeId(node.spiffeId).trustDomain.name
    if (this.trustDomain && td !== this.trustDomain)
      throw new Error(`node SPIFFE ID ${node.spiffeId} is not in trust domain ${this.trustDomain}`)
    this.trustDomain = td
    this.node = node
    if (this.started) {
      this.clearTimer()
      return this.tick()
    }
    return this.sync()
  }

  /** Keep syncing: at the earliest rotation or the refresh interval, with backoff after failures. */
  start(): void {
    if (this.started) return
    this.started = true
    if (this.node) void this.tick().catch(() => undefined)
  }

  stop(): void {
    this.started = false
    this.clearTimer()
  }

  /**
   * One sync, or the one after the sync in progress (so new node credentials are always used).
   * Rejects when anything failed; what did succeed is applied.
   */
  sync(): Promise<SyncReport> {
    if (!this.syncing) {
      this.syncing = this.syncOnce().finally(() => {
        this.syncing = undefined
      })
      return this.syncing
    }
    if (!this.queued)
      this.queued = this.syncing
        .catch(() => undefined)
        .then(() => {
          this.queued = undefined
          return this.sync()
        })
    return this.queued
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
  }

  private async tick(): Promise<SyncReport> {
    let wait: number
    try {
      const report = await this.sync()
      this.failures = 0
      wait = this.nextWake()
      return report
    } catch (e) {
      this.failures++
      wait = Math.min(this.backoff.maxMs, this.backoff.initialMs * 2 ** Math.min(this.failures - 1, 20))
      // wake when a held SVID expires, even amid backoff: the next round drops it and tells the streams
      wait = Math.min(wait, this.untilExpiry())
      this.o.log.log('warn', 'Workload sync failed', { error: errorMessage(e), retryInMs: wait })
      throw e
    } finally {
      if (this.started) {
        this.clearTimer()
        this.timer = setTimeout(() => void this.tick().catch(() => undefined), wait!)
        this.timer.unref?.()
      }
    }
  }

  /** ms until the earliest rotation or the next refresh */
  private nextWake(): number {
    let at = this.now() + this.refreshIntervalMs
    for (const s of this.svids.values()) at = Math.min(at, s.rotateAt)
    return Math.max(100, at - this.now())
  }

  /** ms until the earliest held SVID expires (Infinity with none) */
  private untilExpiry(): number {
    let at = Number.POSITIVE_INFINITY
    for (const s of this.svids.values()) at = Math.min(at, s.notAfter.getTime())
    return Math.max(100, at - this.now())
  }

  /** drop the SVIDs past their notAfter, and announce it */
  private dropExpired(): void {
    const now = this.now()
    const expired: string[] = []
    for (const [id, s] of this.svids) if (s.notAfter.getTime() <= now) expired.push(id)
    if (expired.length === 0) return
    for (const id of expired) {
      this.svids.delete(id)
      this.o.log.log('warn', 'Workload SVID dropped (expired)', { entryId: id })
    }
    this.emit('svids')
  }

  private emit(change: WorkloadChange): void {
    for (const l of [...this.listeners]) {
      try {
        l(change)
      } catch (e) {
        this.o.log.log('error', 'Workload change listener failed', { error: errorMessage(e) })
      }
    }
  }

  private async syncOnce(): Promise<SyncReport> {
    const node = this.node
    if (!node) throw new Error('no node SVID yet: the agent has not attested')
    // before any call: an expired SVID goes (and open streams hear of it) even while the server is down
    this.dropExpired()
    await this.refreshBundle(node)
    const parsed = parseEntries(await this.client.call(node, 'GET', '/v1/entries'), this.trustDomain, this.maxEntries)
    for (const s of parsed.skipped) this.o.log.log('warn', 'Registration entry skipped', { reason: s })
    if (parsed.dropped > 0)
      this.o.log.log('warn', 'Registration entries over the agent bound dropped', { kept: this.maxEntries, dropped: parsed.dropped })

    const keep = new Set(parsed.entries.map((e) => e.id))
    const dropped: string[] = []
    let changed = false
    for (const id of [...this.svids.keys()])
      if (!keep.has(id)) {
        this.svids.delete(id)
        dropped.push(id)
        changed = true
      }
    this.jwts.retain(keep)
    // a changed entry (SPIFFE ID, selectors, TTLs or DNS names): what was issued for the old one is
    // dropped at once, not when the new one is issued (which may fail for as long as the server is down)
    const changedIds: string[] = []
    for (const e of parsed.entries) {
      const s = this.svids.get(e.id)
      if (s && !sameEntry(s.entry, e)) {
        this.svids.delete(e.id)
        this.jwts.forget(e.id)
        changedIds.push(e.id)
      }
    }
    if (this.entries.length !== parsed.entries.length || this.entries.some((e, i) => !sameEntry(e, parsed.entries[i]!))) changed = true
    this.entries = parsed.entries
    for (const id of dropped) this.o.log.log('info', 'Workload SVID dropped (entry deleted)', { entryId: id })
    for (const id of changedIds) this.o.log.log('info', 'Workload SVID dropped (entry changed)', { entryId: id })
    if (dropped.length > 0 || changedIds.length > 0) {
      // announced before the new ones are asked for: open streams stop serving them now
      this.emit('svids')
      changed = false
    }

    const now = this.now()
    const due = parsed.entries.filter((e) => {
      const s = this.svids.get(e.id)
      return !s || now >= s.rotateAt
    })
    const issued: string[] = []
    const failed: string[] = []
    let firstError: unknown
    // a few requests at a time: one TLS connection, one key and one signature each
    const queue = [...due]
    const worker = async () => {
      for (let e = queue.shift(); e !== undefined; e = queue.shift()) {
        try {
          const svid = await this.issueX509(node, e)
          // the entry may have been deleted by a concurrent refresh: only keep what is still listed
          if (!this.entries.some((x) => x.id === e!.id && sameEntry(x, e!))) continue
          this.svids.set(e.id, svid)
          issued.push(e.id)
          changed = true
          this.o.log.log('info', 'Workload SVID issued', {
            entryId: e.id,
            spiffeId: e.spiffeId,
            notAfter: svid.notAfter.toISOString(),
            rotateAt: new Date(svid.rotateAt).toISOString(),
          })
        } catch (err) {
          failed.push(e.id)
          firstError ??= err
          this.o.log.log('warn', 'Workload SVID not issued', { entryId: e.id, spiffeId: e.spiffeId, error: errorMessage(err) })
        }
      }
    }
    await Promise.all(Array.from({ length: Math.min(ISSUE_CONCURRENCY, queue.length) }, worker))
    if (changed) this.emit('svids')
    const report = { entries: parsed.entries.length, issued, dropped, failed }
    if (firstError !== undefined)
      throw Object.assign(new Error(`${failed.length} workload SVID(s) not issued: ${errorMessage(firstError)}`), { report })
    return report
  }

  private async refreshBundle(node: NodeCredentials): Promise<SpiffeBundle> {
    const bundle = parseSpiffeBundle(this.trustDomain, await this.client.getText(node, '/v1/bundle'))
    const view: WorkloadBundle = {
      trustDomain: this.trustDomain,
      x509Authorities: bundle.x509Authorities.map((c) => c.raw),
      jwtAuthorities: new Map([...bundle.jwtAuthorities].map(([kid, jwk]) => [kid, encodeSubjectPublicKeyInfo(jwkToPublicKey(jwk))])),
    }
    this.spiffeBundle = bundle
    const old = this.bundleView[0]
    if (!old || !sameBundle(old, view)) {
      this.bundleView = Object.freeze([view])
      if (old)
        this.o.log.log('info', 'Trust bundle changed', {
          x509Authorities: view.x509Authorities.length,
          jwtAuthorities: view.jwtAuthorities.size,
        })
      this.emit('bundles')
    }
    return bundle
  }

  private async issueX509(node: NodeCredentials, entry: WorkloadEntry): Promise<HeldSvid> {
    const subtle = globalThis.crypto.subtle
    const pair = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
    const spki = new Uint8Array(await subtle.exportKey('spki', pair.publicKey))
    const csr = await makeCertificationRequest([], spki, pair.privateKey, { platform: this.platform })
    const answer = await this.client.call<X509Answer>(node, 'POST', '/v1/svid/x509', { entryId: entry.id, csr: toBase64(csr) })
    if (!Array.isArray(answer.svid) || !answer.svid.every((p) => typeof p === 'string'))
      throw new Error('POST /v1/svid/x509: svid is not a list of PEM certificates')
    const chain = (answer.svid as string[]).flatMap((p) => parsePemCertificates(p, 'svid'))
    let verified
    try {
      verified = await verifyX509Svid(chain, this.spiffeBundle!, { platform: this.platform })
    } catch {
      // the CA may have rotated since the bundle was fetched: once more with a fresh bundle
      verified = await verifyX509Svid(chain, await this.refreshBundle(node), { platform: this.platform })
    }
    const leaf = verified.certificates[0]!
    if (verified.id.toString() !== entry.spiffeId)
      throw new Error(`POST /v1/svid/x509: the SVID names ${verified.id}, the entry ${entry.spiffeId}`)
    if (!bytesEqual(leaf.spki, spki)) throw new Error('POST /v1/svid/x509: the SVID certifies another key than the request')
    const privateKey = new Uint8Array(await subtle.exportKey('pkcs8', pair.privateKey))
    const notBefore = leaf.notBefore
    const notAfter = leaf.notAfter
    const rotateAt = Math.max(notBefore + (notAfter - notBefore) / 2, this.now() + MIN_ROTATION_MS)
    return Object.freeze({ entry, chain, privateKey, notBefore: new Date(notBefore), notAfter: new Date(notAfter), rotateAt })
  }

  private async issueJwt(entry: WorkloadEntry, audience: readonly string[], key: string): Promise<{ spiffeId: string; token: string }> {
    const node = this.node
    if (!node) throw new Error('no node SVID yet: the agent has not attested')
    const answer = await this.client.call<JwtAnswer>(node, 'POST', '/v1/svid/jwt', { entryId: entry.id, audience: [...audience] })
    if (typeof answer.token !== 'string') throw new Error('POST /v1/svid/jwt: no token')
    const token = answer.token
    let svid
    try {
      svid = await verifyJwtSvid(token, this.spiffeBundle!, { audience: [...audience], platform: this.platform })
    } catch {
      // a JWT key the agent has not seen yet: once more with a fresh bundle
      svid = await verifyJwtSvid(token, await this.refreshBundle(node), { audience: [...audience], platform: this.platform })
    }
    if (svid.id.toString() !== entry.spiffeId) throw new Error(`POST /v1/svid/jwt: the token names ${svid.id}, the entry ${entry.spiffeId}`)
    const iat = typeof svid.claims.iat === 'number' ? svid.claims.iat * 1000 : this.now()
    const now = this.now()
    // the entry changed or went while the token was asked for: do not cache what it no longer is
    const current = this.entries.find((x) => x.id === entry.id)
    if (!current || !sameEntry(current, entry)) return { spiffeId: entry.spiffeId, token }
    this.jwts.set(
      key,
      { entryId: entry.id, spiffeId: entry.spiffeId, token, issuedAt: Math.min(iat, now), expiresAt: svid.expiry * 1000 },
      now,
    )
    return { spiffeId: entry.spiffeId, token }
  }
}

function sameBundle(a: WorkloadBundle, b: WorkloadBundle): boolean {
  if (a.trustDomain !== b.trustDomain || a.x509Authorities.length !== b.x509Authorities.length) return false
  if (!a.x509Authorities.every((x, i) => bytesEqual(x, b.x509Authorities[i]!))) return false
  if (a.jwtAuthorities.size !== b.jwtAuthorities.size) return false
  for (const [kid, spki] of a.jwtAuthorities) {
    const other = b.jwtAuthorities.get(kid)
    if (!other || !bytesEqual(other, spki)) return false
  }
  return true
}
