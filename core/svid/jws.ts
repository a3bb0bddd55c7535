import { compactVerify, errors, importJWK } from 'jose'
import { SpiffeError } from '../errors.ts'
import { fromBase64Url, fromUtf8 } from '../bytes/encoding.ts'
import { isObject, parseStrictJson, typeName } from './json.ts'
import type { PublicJwk } from './jwk.ts'

/**
 * The signature layer of JWT-SVID verification (JWT-SVID.md §1-2, §4; RFC 7515 compact form only):
 * shape, protected header, `alg` allow-list, key type against `alg`, then jose's compactVerify with
 * exactly that algorithm. Claims are not interpreted here (jwt-svid.ts does that).
 */

export const JWT_SVID_ALGORITHMS = ['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512'] as const
export type JwtSvidAlgorithm = (typeof JWT_SVID_ALGORITHMS)[number]

/** Tokens larger than this are rejected unread. */
export const MAX_JWS_LENGTH = 64 * 1024

const PART = /^[A-Za-z0-9_-]+$/

export function jwtInvalid(message: string, code: 'ERR_JWT_SVID_INVALID' | 'ERR_JWT_SVID_SIGNATURE' = 'ERR_JWT_SVID_INVALID'): SpiffeError {
  return new SpiffeError(code, message)
}

export interface CompactJws {
  readonly header: Record<string, unknown>
  readonly alg: JwtSvidAlgorithm
  /** the decoded payload part */
  readonly payload: Uint8Array
}

/** Decodes a JSON object part; every failure is ERR_JWT_SVID_INVALID. */
export function decodeJsonPart(bytes: Uint8Array, what: string): Record<string, unknown> {
  let value: unknown
  try {
    // strict: a header or claim name that appears twice (two `alg`s, two `sub`s) is refused
    // outright rather than resolved to the last one (RFC 7519 §4 allows either)
    value = parseStrictJson(fromUtf8(bytes, what), what, { bigints: false })
  } catch (e) {
    throw jwtInvalid(e instanceof SpiffeError ? e.message : `${what} is not utf-8`)
  }
  if (!isObject(value)) throw jwtInvalid(`${what} must be a json object, found ${typeName(value)}`)
  return value
}

/** Splits and decodes a compact JWS and applies the `alg` allow-list (C1, C3). No signature check. */
export function parseCompactJws(token: string): CompactJws {
  if (typeof token !== 'string') throw new TypeError('a JWS is a string')
  if (token.length > MAX_JWS_LENGTH) {
    throw new SpiffeError('ERR_INPUT_TOO_LARGE', `jws is ${token.length} characters, at most ${MAX_JWS_LENGTH} allowed`)
  }
  const parts = token.split('.')
  // the payload may be empty in a JWS (RFC 7515 §7.1); header and signature may not
  if (parts.length !== 3 || !PART.test(parts[0]!) || !(parts[1] === '' || PART.test(parts[1]!)) || !PART.test(parts[2]!)) {
    throw jwtInvalid(`a jwt-svid must use the jws compact serialization (3 base64url parts), found ${parts.length} part(s)`)
  }
  let headerBytes: Uint8Array
  let payload: Uint8Array
  try {
    headerBytes = fromBase64Url(parts[0]!)
    payload = fromBase64Url(parts[1]!)
    fromBase64Url(parts[2]!)
  } catch {
    throw jwtInvalid('a jws part is not canonical base64url')
  }
  const header = decodeJsonPart(headerBytes, 'jws protected header')
  if (typeof header.alg !== 'string' || !(JWT_SVID_ALGORITHMS as readonly string[]).includes(header.alg)) {
    throw jwtInvalid(`alg ${JSON.stringify(header.alg)} is not allowed; expected one of ${JWT_SVID_ALGORITHMS.join(', ')}`)
  }
  return { header, alg: header.alg as JwtSvidAlgorithm, payload }
}

/** Throws unless the key type (and curve) is the one `alg` signs with. */
export function checkKeyFitsAlg(jwk: PublicJwk, alg: JwtSvidAlgorithm, kid: string): void {
  const want = alg === 'ES256' ? 'P-256' : alg === 'ES384' ? 'P-384' : alg === 'ES512' ? 'P-521' : 'RSA'
  const have = jwk.kty === 'EC' ? jwk.crv : 'RSA'
  if (jwk.alg !== undefined && jwk.alg !== alg) {
    throw jwtInvalid(`authority "${kid}" is restricted to alg ${jwk.alg}, the token uses ${alg}`, 'ERR_JWT_SVID_SIGNATURE')
  }
  if (want !== have) {
    const name = (k: string) => (k === 'RSA' ? 'RSA' : `EC ${k}`)
    throw jwtInvalid(`authority "${kid}" is ${name(have)}, alg ${alg} needs ${name(want)}`, 'ERR_JWT_SVID_SIGNATURE')
  }
}

const keyCache = new WeakMap<PublicJwk, Map<string, CryptoKey | Uint8Array>>()

async function importAuthority(jwk: PublicJwk, alg: JwtSvidAlgorithm): Promise<CryptoKey | Uint8Array> {
  let byAlg = keyCache.get(jwk)
  if (!byAlg) keyCache.set(jwk, (byAlg = new Map()))
  let key = byAlg.get(alg)
  if (!key) {
    // Key material only. `use: "jwt-svid"` was interpreted by the bundle parser (only jwt-svid
    // entries become JWT authorities); jose would refuse it, accepting only an absent use or "sig".
    const material = jwk.kty === 'EC' ? { kty: 'EC', crv: jwk.crv, x: jwk.x, y: jwk.y } : { kty: 'RSA', n: jwk.n, e: jwk.e }
    key = await importJWK(material, alg)
    byAlg.set(alg, key)
  }
  return key
}

/**
 * Verifies the signature of a compact JWS with one public JWK: `alg` from the allow-list, the key
 * type fitting `alg`, then jose (which also refuses `crit` and `b64`). Returns the parsed JWS.
 */
export async function verifyCompactJws(token: string, jwk: PublicJwk, kid = ''): Promise<CompactJws> {
  const jws = parseCompactJws(token)
  checkKeyFitsAlg(jwk, jws.alg, kid)
  try {
    const key = await importAuthority(jwk, jws.alg)
    await compactVerify(token, key, { algorithms: [jws.alg] })
  } catch (e) {
    if (e instanceof errors.JWSSignatureVerificationFailed) {
      throw new SpiffeError('ERR_JWT_SVID_SIGNATURE', 'signature does not verify with the bundle authority', { cause: e })
    }
    const msg = e instanceof Error ? e.message : String(e)
    // key import, key size and crit refusals: nothing here can be a valid JWT-SVID signature
    throw new SpiffeError('ERR_JWT_SVID_SIGNATURE', `signature cannot be verified: ${msg.toLowerCase()}`, { cause: e })
  }
  return jws
}
