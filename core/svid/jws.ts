import { SpiffeError } from '../errors.ts'
import { fromBase64Url, fromUtf8, utf8 } from '../bytes/encoding.ts'
import type { PublicKey, SignatureScheme } from '../crypto/provider.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import { isObject, parseStrictJson, typeName } from './json.ts'
import { jwkToPublicKey, type PublicJwk } from './jwk.ts'

/**
 * The signature layer of JWT-SVID verification (JWT-SVID.md §1-2, §4; RFC 7515 compact form only):
 * shape, protected header, `alg` allow-list, no `crit`/`b64`, key type against `alg`, RSA keys of
 * at least 2048 bits, then the signature over `header.payload` through the platform's crypto
 * provider (node:crypto on Node and Bun, Web Crypto elsewhere) with exactly that algorithm.
 * Claims are not interpreted here (jwt-svid.ts does that). jose is the independent peer the
 * tests hold this to (test/core/svid/wycheproof-jws.test.ts).
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

/** RFC 7518 §3.1: the scheme each allowed `alg` names (PSS salt = digest length, §3.5). */
const SCHEMES: Readonly<Record<JwtSvidAlgorithm, SignatureScheme>> = {
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  RS384: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' },
  RS512: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-512' },
  PS256: { name: 'RSA-PSS', hash: 'SHA-256', saltLength: 32 },
  PS384: { name: 'RSA-PSS', hash: 'SHA-384', saltLength: 48 },
  PS512: { name: 'RSA-PSS', hash: 'SHA-512', saltLength: 64 },
  ES256: { name: 'ECDSA', hash: 'SHA-256' },
  ES384: { name: 'ECDSA', hash: 'SHA-384' },
  ES512: { name: 'ECDSA', hash: 'SHA-512' },
}

/** RFC 7518 §3.3 and §3.5: RSA keys for the RS and PS algorithms are at least 2048 bits (as jose enforces). */
const MIN_RSA_BITS = 2048

/** One PublicKey per authority JWK, so providers that cache imported keys per key object hit. */
const keyCache = new WeakMap<PublicJwk, PublicKey>()

function authorityKey(jwk: PublicJwk, kid: string): PublicKey {
  let key = keyCache.get(jwk)
  if (!key) {
    key = jwkToPublicKey(jwk)
    if (key.kty === 'RSA') {
      let i = 0
      while (i < key.n.length && key.n[i] === 0) i++
      const bits = (key.n.length - i) * 8 - (i < key.n.length ? Math.clz32(key.n[i]!) - 24 : 0)
      if (bits < MIN_RSA_BITS) {
        throw jwtInvalid(
          `authority "${kid}" is an RSA key of ${bits} bits; at least ${MIN_RSA_BITS} are required`,
          'ERR_JWT_SVID_SIGNATURE',
        )
      }
    }
    keyCache.set(jwk, key)
  }
  return key
}

/**
 * Verifies the signature of a compact JWS with one public JWK: `alg` from the allow-list, no
 * `crit` or `b64` header (RFC 7515 §4.1.11, RFC 7797: JWT-SVIDs use neither), the key type
 * fitting `alg`, then the signature over the ASCII `header.payload`. Returns the parsed JWS.
 */
export async function verifyCompactJws(
  token: string,
  jwk: PublicJwk,
  kid = '',
  platform: Platform = defaultPlatform(),
): Promise<CompactJws> {
  const jws = parseCompactJws(token)
  for (const name of ['crit', 'b64']) {
    if (name in jws.header) throw jwtInvalid(`jws header parameter "${name}" is not supported in a jwt-svid`)
  }
  checkKeyFitsAlg(jwk, jws.alg, kid)
  const key = authorityKey(jwk, kid)
  const dot = token.lastIndexOf('.')
  const ok = await platform.crypto.verify(SCHEMES[jws.alg], key, utf8(token.slice(0, dot)), fromBase64Url(token.slice(dot + 1)))
  if (!ok) throw new SpiffeError('ERR_JWT_SVID_SIGNATURE', 'signature does not verify with the bundle authority')
  return jws
}
