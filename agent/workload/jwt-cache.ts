/**
 * The agent's JWT-SVID cache: one token per (entry, audience set), served until half its lifetime
 * and then fetched again; past half life a still-valid token is the fallback when the server is
 * unreachable. Bounded: the oldest token goes first when the cache is full.
 */

export interface CachedJwtSvid {
  readonly entryId: string
  readonly spiffeId: string
  readonly token: string
  /** ms since the epoch */
  readonly issuedAt: number
  readonly expiresAt: number
}

/** The cache key: the entry and the audience as a set (order and duplicates do not matter). */
export function jwtCacheKey(entryId: string, audience: readonly string[]): string {
  return JSON.stringify([entryId, [...new Set(audience)].sort()])
}

export class JwtSvidCache {
  private readonly tokens = new Map<string, CachedJwtSvid>()

  constructor(readonly maxSize: number) {
    if (!Number.isSafeInteger(maxSize) || maxSize < 1) throw new RangeError('maxSize must be a positive integer')
  }

  get size(): number {
    return this.tokens.size
  }

  /** a token before half its lifetime */
  fresh(key: string, now: number): CachedJwtSvid | undefined {
    const t = this.tokens.get(key)
    return t && now < t.issuedAt + (t.expiresAt - t.issuedAt) / 2 ? t : undefined
  }

  /** a token not yet expired (the fallback while the server is unreachable) */
  valid(key: string, now: number): CachedJwtSvid | undefined {
    const t = this.tokens.get(key)
    return t && now < t.expiresAt ? t : undefined
  }

  set(key: string, t: CachedJwtSvid, now: number): void {
    this.tokens.delete(key)
    if (this.tokens.size >= this.maxSize) for (const [k, v] of this.tokens) if (v.expiresAt <= now) this.tokens.delete(k)
    while (this.tokens.size >= this.maxSize) this.tokens.delete(this.tokens.keys().next().value!)
    this.tokens.set(key, t)
  }

  /** forget every token of one entry (it changed: its tokens name what it was) */
  forget(entryId: string): void {
    for (const [k, v] of this.tokens) if (v.entryId === entryId) this.tokens.delete(k)
  }

  /** forget every token of entries not in `keep` */
  retain(keep: ReadonlySet<string>): void {
    for (const [k, v] of this.tokens) if (!keep.has(v.entryId)) this.tokens.delete(k)
  }
}
