/**
 * Request rate limits (docs/protocol.md "Limits"): one token bucket per key (a client address, an
 * attested identity), `burst` tokens, refilled at `ratePerSecond`. The buckets live in a map of at
 * most `maxKeys` entries with least-recently-used eviction, so the limiter's memory is bounded
 * whatever the number of addresses or identities; an evicted key comes back with a full bucket.
 * A refused request gets ERR_RATE_LIMITED (429) with `Retry-After` in whole seconds.
 */
import { VerifyError } from '../core/errors.ts'

export interface RateLimitRule {
  /** tokens (requests) a new or rested key may spend at once */
  readonly burst: number
  /** tokens added per second, up to `burst` */
  readonly ratePerSecond: number
}

/** ERR_RATE_LIMITED with the seconds after which one request will pass (the Retry-After header). */
export class RateLimitError extends VerifyError {
  constructor(
    readonly scope: string,
    readonly retryAfterSeconds: number,
  ) {
    super('ERR_RATE_LIMITED', `too many requests for this ${scope}; retry after ${retryAfterSeconds} s`, {
      detail: { scope, retryAfterSeconds },
    })
  }
}

interface Bucket {
  tokens: number
  at: number
  /** refused since its last allowed request: the first refusal of a run is logged, the rest counted */
  refusing: boolean
}

export type TakeResult = { readonly ok: true } | { readonly ok: false; readonly retryAfterSeconds: number; readonly first: boolean }

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>()

  constructor(
    private readonly rule: RateLimitRule,
    private readonly maxKeys: number,
    private readonly now: () => number,
  ) {
    if (!(rule.burst >= 1) || !(rule.ratePerSecond > 0)) throw new RangeError('rate limit: burst must be >= 1 and rate > 0')
    if (!Number.isInteger(maxKeys) || maxKeys < 1) throw new RangeError('rate limit: maxKeys must be a positive integer')
  }

  /** keys held now (at most maxKeys) */
  get size(): number {
    return this.buckets.size
  }

  /** Spends one token of `key`'s bucket, or says when one will be there. */
  take(key: string): TakeResult {
    const t = this.now()
    let b = this.buckets.get(key)
    if (b === undefined) {
      b = { tokens: this.rule.burst, at: t, refusing: false }
      if (this.buckets.size >= this.maxKeys) {
        // least recently used first: Map keeps insertion order and a used key is re-inserted
        const oldest = this.buckets.keys().next().value
        if (oldest !== undefined) this.buckets.delete(oldest)
      }
    } else {
      this.buckets.delete(key)
      b.tokens = Math.min(this.rule.burst, b.tokens + (Math.max(0, t - b.at) / 1000) * this.rule.ratePerSecond)
      b.at = t
    }
    this.buckets.set(key, b)
    if (b.tokens >= 1) {
      b.tokens -= 1
      b.refusing = false
      return { ok: true }
    }
    const first = !b.refusing
    b.refusing = true
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.rule.ratePerSecond)), first }
  }
}

/**
 * The key a client address is rate limited under: an IPv4 address as it is (an IPv4-mapped IPv6
 * address as its IPv4 form), an IPv6 address by its /64. A host on IPv6 usually holds a whole /64,
 * so keying by /128 would give it 2^64 fresh buckets, and let it evict everyone else's.
 */
export function addressRateKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (mapped) return mapped[1]!
  if (!address.includes(':')) return address
  const [head = '', tail] = address.split('::', 2)
  const headGroups = head === '' ? [] : head.split(':')
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups =
    tail === undefined
      ? headGroups
      : [...headGroups, ...Array(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups]
  if (groups.length !== 8 || !groups.every((g) => /^[0-9a-f]{1,4}$/i.test(g))) return address
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`
}
