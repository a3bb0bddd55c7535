import { SpiffeError } from '../errors.ts'
import { bytesEqual } from '../bytes/equal.ts'
import { fromBase64, toBase64 } from '../bytes/encoding.ts'
import type { PublicKey } from '../crypto/provider.ts'
import type { Certificate } from '../x509/certificate.ts'
import type { JwtBundleSource, X509BundleSource } from './bundle-source.ts'
import { isObject, parseJsonObject, typeName } from './json.ts'
import { jwkToPublicKey, parsePublicJwk, type PublicJwk } from './jwk.ts'
import { JwtBundle } from './jwt-bundle.ts'
import { parseSpiffeId, toTrustDomain } from './spiffe-id.ts'
import type { TrustDomain } from './trust-domain.ts'
import { X509Bundle, parseAuthority, parseX509Bundle } from './x509-bundle.ts'

/**
 * A SPIFFE bundle, SPIFFE_Trust_Domain_and_Bundle.md §4: a JWK Set with `spiffe_sequence` and
 * `spiffe_refresh_hint`, whose keys are X.509 authorities (`use: x509-svid`, X509-SVID.md §6),
 * JWT authorities (`use: jwt-svid`, JWT-SVID.md §6) and WIT authorities (`use: wit-svid`).
 */
export interface SpiffeBundleParts {
  readonly x509Authorities?: Iterable<Certificate>
  readonly jwtAuthorities?: Iterable<readonly [string, PublicJwk]>
  readonly witAuthorities?: Iterable<readonly [string, PublicJwk]>
  /** §4.1.1, a 64-bit unsigned integer */
  readonly sequenceNumber?: bigint
  /** §4.1.2, seconds */
  readonly refreshHintSeconds?: number
}

export class SpiffeBundle implements X509BundleSource, JwtBundleSource {
  readonly trustDomain: TrustDomain
  readonly x509: X509Bundle
  readonly jwt: JwtBundle
  /** WIT-SVID authorities (kept and serialized; no WIT-SVID verifier yet) */
  readonly wit: JwtBundle
  readonly sequenceNumber?: bigint
  readonly refreshHintSeconds?: number

  constructor(trustDomain: TrustDomain | string, parts: SpiffeBundleParts = {}) {
    this.trustDomain = toTrustDomain(trustDomain)
    this.x509 = new X509Bundle(this.trustDomain, parts.x509Authorities)
    this.jwt = new JwtBundle(this.trustDomain, parts.jwtAuthorities)
    this.wit = new JwtBundle(this.trustDomain, parts.witAuthorities)
    if (parts.sequenceNumber !== undefined) this.sequenceNumber = parts.sequenceNumber
    if (parts.refreshHintSeconds !== undefined) this.refreshHintSeconds = parts.refreshHintSeconds
  }

  get x509Authorities(): readonly Certificate[] {
    return this.x509.authorities
  }

  get jwtAuthorities(): ReadonlyMap<string, PublicJwk> {
    return this.jwt.authorities
  }

  getX509Bundle(td: TrustDomain): X509Bundle | undefined {
    return td.equals(this.trustDomain) ? this.x509 : undefined
  }

  getJwtBundle(td: TrustDomain): JwtBundle | undefined {
    return td.equals(this.trustDomain) ? this.jwt : undefined
  }
}

function malformed(message: string): SpiffeError {
  return new SpiffeError('ERR_BUNDLE_MALFORMED', message)
}

const MAX_U64 = (1n << 64n) - 1n

/** §4.1.1: a 64-bit unsigned integer (the strict parser keeps large integers exact as bigint). */
function parseSequence(value: unknown): bigint {
  const n = typeof value === 'bigint' ? value : typeof value === 'number' && Number.isSafeInteger(value) ? BigInt(value) : undefined
  if (n === undefined || n < 0n || n > MAX_U64) {
    throw malformed(`spiffe_sequence must be an integer in 0..2^64-1, found ${typeName(value)} ${String(value)}`)
  }
  return n
}

function samePublicKey(a: PublicKey, b: PublicKey): boolean {
  if (a.kty === 'RSA' && b.kty === 'RSA') return bytesEqual(a.n, b.n) && bytesEqual(a.e, b.e)
  if (a.kty === 'EC' && b.kty === 'EC') return a.crv === b.crv && bytesEqual(a.x, b.x) && bytesEqual(a.y, b.y)
  return false
}

/**
 * Parses a SPIFFE bundle for trust domain `td` (the document does not name its trust domain).
 * §4.1.3: `keys` must be present (an empty array is legal: nothing from this trust domain is
 * trusted). A JWK with a missing or unknown `use` or `kty` is ignored (§4.2.1-4.2.2). x509-svid
 * entries: no or empty `x5c` -> ignored, only `x5c[0]` is used (X509-SVID §6.2), and its key must
 * be the JWK's key. jwt-svid / wit-svid entries need a unique `kid` (JWT-SVID §6.1).
 */
export function parseSpiffeBundle(td: TrustDomain | string, json: string | Uint8Array): SpiffeBundle {
  return spiffeBundleFromObject(td, parseJsonObject(json, 'spiffe bundle'))
}

/** parseSpiffeBundle for an already parsed (strict) JSON object, e.g. one member of a bundle map. */
export function spiffeBundleFromObject(td: TrustDomain | string, doc: Record<string, unknown>): SpiffeBundle {
  if (doc.keys === undefined || doc.keys === null) throw malformed('spiffe bundle: "keys" is missing')
  if (!Array.isArray(doc.keys)) throw malformed(`spiffe bundle: "keys" must be an array, found ${typeName(doc.keys)}`)
  const x509: Certificate[] = []
  const jwt: [string, PublicJwk][] = []
  const wit: [string, PublicJwk][] = []
  doc.keys.forEach((k: unknown, i: number) => {
    const what = `spiffe bundle key ${i}`
    if (!isObject(k)) throw malformed(`${what}: expected an object, found ${typeName(k)}`)
    if (k.use !== 'x509-svid' && k.use !== 'jwt-svid' && k.use !== 'wit-svid') return // D9
    if (typeof k.kty !== 'string') return // D8
    const jwk = parsePublicJwk(k, what)
    if (!jwk) return // D8: a key type or curve SPIFFE does not use
    if (k.use === 'x509-svid') {
      if (k.x5c === undefined || (Array.isArray(k.x5c) && k.x5c.length === 0)) return // B16
      if (!Array.isArray(k.x5c) || typeof k.x5c[0] !== 'string') throw malformed(`${what}: x5c must be an array of base64 strings`)
      let der: Uint8Array
      try {
        der = fromBase64(k.x5c[0], `${what} x5c[0]`)
      } catch {
        throw malformed(`${what}: x5c[0] is not base64`)
      }
      const cert = parseAuthority(der, `${what} x5c[0]`)
      if (!samePublicKey(cert.publicKey, jwkToPublicKey(jwk)))
        throw malformed(`${what}: the JWK key is not the key of its x5c[0] certificate`)
      x509.push(cert)
      return
    }
    if (typeof k.kid !== 'string' || k.kid === '') throw malformed(`${what}: a ${k.use} entry needs a non-empty "kid"`)
    const list = k.use === 'jwt-svid' ? jwt : wit
    if (list.some(([kid]) => kid === k.kid)) throw malformed(`${what}: ${k.use} key id "${k.kid}" appears twice`)
    list.push([k.kid, jwk])
  })
  let refreshHintSeconds: number | undefined
  if (doc.spiffe_refresh_hint !== undefined) {
    const h = doc.spiffe_refresh_hint
    if (typeof h !== 'number' || !Number.isSafeInteger(h) || h < 0) {
      throw malformed(`spiffe_refresh_hint must be a non-negative integer (seconds), found ${JSON.stringify(h)}`)
    }
    refreshHintSeconds = h
  }
  const sequenceNumber = doc.spiffe_sequence === undefined ? undefined : parseSequence(doc.spiffe_sequence)
  return new SpiffeBundle(td, {
    x509Authorities: x509,
    jwtAuthorities: jwt,
    witAuthorities: wit,
    ...(sequenceNumber !== undefined ? { sequenceNumber } : {}),
    ...(refreshHintSeconds !== undefined ? { refreshHintSeconds } : {}),
  })
}

function certJwk(cert: Certificate): Record<string, string> {
  const k = cert.publicKey
  if (k.kty === 'RSA') return { kty: 'RSA', n: b64u(k.n), e: b64u(k.e) }
  return { kty: 'EC', crv: k.crv, x: b64u(k.x), y: b64u(k.y) }
}

function b64u(b: Uint8Array): string {
  return toBase64(b).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')
}

/** The bundle as SPIFFE bundle JSON (§4), members in the spec's order. */
export function makeSpiffeBundleJson(bundle: SpiffeBundle): string {
  const keys = [
    ...bundle.x509.authorities.map((c) => ({ use: 'x509-svid', ...certJwk(c), x5c: [toBase64(c.raw)] })),
    ...[...bundle.jwt.authorities].map(([kid, jwk]) => ({ use: 'jwt-svid', kid, ...jwk })),
    ...[...bundle.wit.authorities].map(([kid, jwk]) => ({ use: 'wit-svid', kid, ...jwk })),
  ]
  const head: string[] = []
  if (bundle.sequenceNumber !== undefined) head.push(`"spiffe_sequence":${bundle.sequenceNumber.toString()}`)
  if (bundle.refreshHintSeconds !== undefined) head.push(`"spiffe_refresh_hint":${bundle.refreshHintSeconds}`)
  head.push(`"keys":${JSON.stringify(keys)}`)
  return `{${head.join(',')}}`
}

/**
 * A trust bundle file in either form: SPIFFE bundle JSON (first non-blank character `{`) or PEM
 * X.509 authorities (then without JWT authorities).
 */
export function parseBundleDocument(
  td: TrustDomain | string,
  input: string | Uint8Array,
): { bundle: SpiffeBundle; format: 'spiffe' | 'pem' } {
  const head =
    typeof input === 'string' ? input.trimStart().slice(0, 1) : new TextDecoder().decode(input.subarray(0, 64)).trimStart().slice(0, 1)
  if (head === '{') return { bundle: parseSpiffeBundle(td, input), format: 'spiffe' }
  const x509 = parseX509Bundle(td, input)
  return { bundle: new SpiffeBundle(td, { x509Authorities: x509.authorities }), format: 'pem' }
}

/**
 * The trust domain the X.509 authorities of a bundle name in their SPIFFE ID URI SANs
 * (`spiffe://<td>`, X509-SVID §3.2), if they all name the same one; else undefined.
 */
export function trustDomainOfAuthorities(certs: readonly Certificate[]): TrustDomain | undefined {
  const names = new Set<string>()
  for (const c of certs) {
    for (const n of c.subjectAltName ?? []) {
      if (n.type !== 'uri' || !n.value.startsWith('spiffe://')) continue
      try {
        names.add(parseSpiffeId(n.value).trustDomain.name)
      } catch {
        return undefined
      }
    }
  }
  return names.size === 1 ? toTrustDomain([...names][0]!) : undefined
}

/** The same authorities, sequence and hint bound to another trust domain. */
export function withTrustDomain(bundle: SpiffeBundle, td: TrustDomain | string): SpiffeBundle {
  return new SpiffeBundle(td, {
    x509Authorities: bundle.x509.authorities,
    jwtAuthorities: bundle.jwt.authorities,
    witAuthorities: bundle.wit.authorities,
    ...(bundle.sequenceNumber !== undefined ? { sequenceNumber: bundle.sequenceNumber } : {}),
    ...(bundle.refreshHintSeconds !== undefined ? { refreshHintSeconds: bundle.refreshHintSeconds } : {}),
  })
}
