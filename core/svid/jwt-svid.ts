import { SpiffeError } from '../errors.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import type { JwtBundleSource } from './bundle-source.ts'
import { typeName } from './json.ts'
import { decodeJsonPart, jwtInvalid, parseCompactJws, verifyCompactJws, type JwtSvidAlgorithm } from './jws.ts'
import { matchAny, type SpiffeIdMatcher } from './match.ts'
import { parseSpiffeId, type SpiffeId } from './spiffe-id.ts'

export { JWT_SVID_ALGORITHMS, type JwtSvidAlgorithm } from './jws.ts'

/**
 * JWT-SVID verification, JWT-SVID.md (checklist C1-C13). Order: compact JWS (C1) -> `alg` in the
 * allow-list before anything else (C3) -> only `alg`/`kid`/`typ` headers (C2) -> `typ` JWT or JOSE
 * (C5) -> claims: `sub` present, `exp` present, `sub` a SPIFFE ID (C6), `aud` present (C7) -> `kid`
 * present (C4) -> JWT bundle of the `sub` trust domain (C10, C12) -> its authority `kid` -> key
 * type fits `alg` -> signature (C9) -> `exp` after now - skew (C8), `nbf` if present -> `aud`
 * contains an expected audience (C7) -> the caller's matcher.
 */

export interface JwtSvidHeader {
  readonly alg: JwtSvidAlgorithm
  readonly kid: string
  readonly typ?: 'JWT' | 'JOSE'
}

export interface JwtSvid {
  readonly id: SpiffeId
  /** `aud` as a list */
  readonly audience: readonly string[]
  /** `exp`, seconds since the Unix epoch */
  readonly expiry: number
  readonly header: JwtSvidHeader
  /** every claim, as signed */
  readonly claims: Readonly<Record<string, unknown>>
  /** the compact token, as given */
  readonly token: string
}

export interface VerifyJwtSvidOptions {
  /** the audience(s) this validator accepts; `aud` must contain at least one (C7) */
  readonly audience: string | readonly string[]
  /** allowed clock skew for `exp` and `nbf`, seconds; default 0 */
  readonly clockSkewSeconds?: number
  /** authorizes the verified ID; default matchAny() */
  readonly matcher?: SpiffeIdMatcher
  /** evaluation time, ms since the epoch; default platform.now() */
  readonly at?: number
  readonly platform?: Platform
}

const ALLOWED_HEADERS = new Set(['alg', 'kid', 'typ'])

/**
 * The syntax and claim-shape checks of a JWT-SVID, without signature, time or audience checks:
 * what verifyJwtSvid does before it looks up a key. For diagnostics; never trust its result.
 */
export function parseJwtSvidUnverified(token: string): Omit<JwtSvid, 'token'> {
  const jws = parseCompactJws(token)
  const h = jws.header
  for (const name of Object.keys(h)) {
    if (!ALLOWED_HEADERS.has(name))
      throw jwtInvalid(`header parameter "${name}" is not allowed; a jwt-svid header has only alg, kid and typ`)
  }
  if (h.typ !== undefined && h.typ !== 'JWT' && h.typ !== 'JOSE') {
    throw jwtInvalid(`typ must be JWT or JOSE when present, found ${JSON.stringify(h.typ)}`)
  }
  const c = decodeJsonPart(jws.payload, 'jwt claims set')
  if (c.sub === undefined) throw jwtInvalid('token has no sub claim')
  if (typeof c.sub !== 'string') throw jwtInvalid(`sub must be a string, found ${typeName(c.sub)}`)
  if (c.exp === undefined) throw jwtInvalid('token has no exp claim')
  if (typeof c.exp !== 'number' || !Number.isFinite(c.exp)) throw jwtInvalid(`exp must be a number, found ${typeName(c.exp)}`)
  let id: SpiffeId
  try {
    id = parseSpiffeId(c.sub)
  } catch (e) {
    throw jwtInvalid(`sub is not a valid spiffe id: ${e instanceof Error ? e.message : String(e)}`)
  }
  const aud = typeof c.aud === 'string' ? [c.aud] : c.aud
  if (aud === undefined) throw jwtInvalid('token has no aud claim')
  if (!Array.isArray(aud) || aud.length === 0 || !aud.every((a) => typeof a === 'string')) {
    throw jwtInvalid('aud must be a string or a non-empty array of strings')
  }
  for (const t of ['nbf', 'iat'] as const) {
    if (c[t] !== undefined && (typeof c[t] !== 'number' || !Number.isFinite(c[t])))
      throw jwtInvalid(`${t} must be a number, found ${typeName(c[t])}`)
  }
  if (typeof h.kid !== 'string' || h.kid === '') throw jwtInvalid('token header has no kid')
  const header: JwtSvidHeader = { alg: jws.alg, kid: h.kid, ...(h.typ !== undefined ? { typ: h.typ as 'JWT' | 'JOSE' } : {}) }
  return { id, audience: aud as string[], expiry: c.exp, header, claims: c }
}

/** Verifies a JWT-SVID against the JWT bundle of its own trust domain. Throws SpiffeError. */
export async function verifyJwtSvid(token: string, bundles: JwtBundleSource, options: VerifyJwtSvidOptions): Promise<JwtSvid> {
  const expected = typeof options.audience === 'string' ? [options.audience] : [...(options.audience ?? [])]
  if (expected.length === 0 || expected.some((a) => typeof a !== 'string' || a === '')) {
    throw new TypeError('verifyJwtSvid needs options.audience: one or more non-empty strings')
  }
  const skew = options.clockSkewSeconds ?? 0
  if (!(skew >= 0)) throw new RangeError('clockSkewSeconds must be >= 0')
  const now = options.at ?? (options.platform ?? defaultPlatform()).now()

  const svid = parseJwtSvidUnverified(token)
  const td = svid.id.trustDomain
  const bundle = bundles.getJwtBundle(td)
  if (!bundle) throw new SpiffeError('ERR_BUNDLE_NOT_FOUND', `no jwt bundle for trust domain "${td}"`)
  const jwk = bundle.findAuthority(svid.header.kid)
  if (!jwk) throw new SpiffeError('ERR_SVID_UNTRUSTED', `no jwt authority "${svid.header.kid}" in the bundle of trust domain "${td}"`)
  await verifyCompactJws(token, jwk, svid.header.kid, options.platform ?? defaultPlatform())

  if (svid.expiry * 1000 <= now - skew * 1000) {
    throw new SpiffeError(
      'ERR_JWT_SVID_EXPIRED',
      `token has expired: exp ${svid.expiry} is not after ${Math.floor(now / 1000)} (skew ${skew}s)`,
    )
  }
  const nbf = svid.claims.nbf
  if (typeof nbf === 'number' && nbf * 1000 > now + skew * 1000) {
    throw jwtInvalid(`token is not yet valid: nbf ${nbf} is after ${Math.floor(now / 1000)} (skew ${skew}s)`)
  }
  if (!svid.audience.some((a) => expected.includes(a))) {
    throw new SpiffeError(
      'ERR_JWT_SVID_AUDIENCE',
      `aud does not contain an expected audience (${expected.length} expected, ${svid.audience.length} present)`,
    )
  }
  ;(options.matcher ?? matchAny())(svid.id)
  return { ...svid, token }
}
