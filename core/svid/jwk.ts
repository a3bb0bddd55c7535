import { SpiffeError } from '../errors.ts'
import { fromBase64Url } from '../bytes/encoding.ts'
import type { NamedCurve, PublicKey } from '../crypto/provider.ts'

/**
 * Public JWKs as SPIFFE bundles carry them (RFC 7517/7518 §6). Only the key material is kept
 * (`kty` + `crv x y` or `n e`): `use`, `kid`, `x5c` are interpreted by the bundle parsers, and a
 * key imported for verification never carries `use`, so jose's "use must be sig" rule cannot trip
 * on SPIFFE's `"use": "jwt-svid"` (the bundle parser has already kept only jwt-svid entries).
 */
export type PublicJwk = (
  | { readonly kty: 'EC'; readonly crv: NamedCurve; readonly x: string; readonly y: string }
  | { readonly kty: 'RSA'; readonly n: string; readonly e: string }
) & {
  /** RFC 7517 §4.4: when the JWK names an algorithm, the key is used with that one only */
  readonly alg?: string
}

const CURVE_BYTES: Record<NamedCurve, number> = { 'P-256': 32, 'P-384': 48, 'P-521': 66 }
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

function malformed(message: string): SpiffeError {
  return new SpiffeError('ERR_BUNDLE_MALFORMED', message)
}

function b64u(jwk: Record<string, unknown>, name: string, what: string): Uint8Array {
  const v = jwk[name]
  if (typeof v !== 'string' || v === '') throw malformed(`${what}: "${name}" must be a non-empty base64url string`)
  try {
    return fromBase64Url(v, `${what} "${name}"`)
  } catch (e) {
    throw malformed(`${what}: "${name}" is not base64url`)
  }
}

/**
 * The public key material of a JWK object; `undefined` for a key type or curve SPIFFE cannot use
 * (SPIFFE_Trust_Domain_and_Bundle §4.2.1: ignore such a JWK). Known types with bad members, or with
 * private members, are errors: a bundle is public data and must not be half-understood.
 */
export function parsePublicJwk(value: Record<string, unknown>, what: string): PublicJwk | undefined {
  if (value.kty !== 'EC' && value.kty !== 'RSA') return undefined
  // RFC 7517 §4.3: a key whose key_ops exclude "verify" is not a signature verification key
  if (value.key_ops !== undefined && !(Array.isArray(value.key_ops) && value.key_ops.includes('verify'))) return undefined
  if (value.alg !== undefined && typeof value.alg !== 'string') throw malformed(`${what}: "alg" must be a string`)
  const alg = value.alg === undefined ? {} : { alg: value.alg as string }
  for (const m of PRIVATE_MEMBERS) {
    if (m in value) throw malformed(`${what}: carries the private member "${m}"; a bundle holds public keys only`)
  }
  if (value.kty === 'EC') {
    const crv = value.crv
    if (crv !== 'P-256' && crv !== 'P-384' && crv !== 'P-521') return undefined
    const size = CURVE_BYTES[crv]
    const x = b64u(value, 'x', what)
    const y = b64u(value, 'y', what)
    if (x.length !== size || y.length !== size)
      throw malformed(`${what}: ${crv} coordinates must be ${size} bytes, found x ${x.length} and y ${y.length}`)
    return { kty: 'EC', crv, x: value.x as string, y: value.y as string, ...alg }
  }
  if (value.kty === 'RSA') {
    const n = b64u(value, 'n', what)
    const e = b64u(value, 'e', what)
    if (n[0] === 0 || e[0] === 0) throw malformed(`${what}: RSA "n" and "e" must have no leading zero byte`)
    if (n.length < 128) throw malformed(`${what}: RSA modulus must be at least 1024 bits, found ${n.length * 8}`)
    return { kty: 'RSA', n: value.n as string, e: value.e as string, ...alg }
  }
  return undefined
}

/** The runtime-neutral form the crypto port takes. */
export function jwkToPublicKey(jwk: PublicJwk): PublicKey {
  return jwk.kty === 'EC'
    ? { kty: 'EC', crv: jwk.crv, x: fromBase64Url(jwk.x), y: fromBase64Url(jwk.y) }
    : { kty: 'RSA', n: fromBase64Url(jwk.n), e: fromBase64Url(jwk.e) }
}

/** Same key material (the textual members are canonical base64url, so compare bytes). */
export function publicJwkEquals(a: PublicJwk, b: PublicJwk): boolean {
  if (a.alg !== b.alg) return false
  if (a.kty === 'EC' && b.kty === 'EC') return a.crv === b.crv && a.x === b.x && a.y === b.y
  if (a.kty === 'RSA' && b.kty === 'RSA') return a.n === b.n && a.e === b.e
  return false
}

/** A short description for listings: `EC P-256` or `RSA 2048`. */
export function describeJwk(jwk: PublicJwk): string {
  return jwk.kty === 'EC' ? `EC ${jwk.crv}` : `RSA ${fromBase64Url(jwk.n).length * 8}`
}
