/**
 * The identity material the agent socket hands out, in the shapes the wire wants: X.509 bundles as
 * concatenated DER (Workload API) or PEM (SDS), JWT bundles as a JWK Set (`use: jwt-svid`, `kid`), and
 * a JWT bundle source for ValidateJWTSVID. Bundles are keyed by trust domain; the agent's own trust
 * domain is the source's first bundle, the rest are federated.
 */
import { createPublicKey } from 'node:crypto'
import type { JwtBundleSource } from '../../../core/svid/bundle-source.ts'
import { parsePublicJwk, type PublicJwk } from '../../../core/svid/jwk.ts'
import { JwtBundle, makeJwtBundleJson } from '../../../core/svid/jwt-bundle.ts'
import { parseTrustDomain } from '../../../core/svid/spiffe-id.ts'
import type { TrustDomain } from '../../../core/svid/trust-domain.ts'
import type { WorkloadBundle } from '../source.ts'

export function concatDer(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let at = 0
  for (const p of parts) {
    out.set(p, at)
    at += p.length
  }
  return out
}

function pem(label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64')
  const lines: string[] = []
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64))
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

export function certificatesPem(ders: readonly Uint8Array[]): Uint8Array {
  return new TextEncoder().encode(ders.map((d) => pem('CERTIFICATE', d)).join(''))
}

export function privateKeyPem(pkcs8: Uint8Array): Uint8Array {
  return new TextEncoder().encode(pem('PRIVATE KEY', pkcs8))
}

/** `example.org` or `spiffe://example.org` → the trust domain (undefined when it is neither). */
export function bundleTrustDomain(bundle: WorkloadBundle): TrustDomain | undefined {
  try {
    return parseTrustDomain(bundle.trustDomain)
  } catch {
    return undefined
  }
}

/** The JWT authorities of a bundle as JWKs; an authority whose SPKI is not an EC/RSA key is left out. */
export function jwtAuthorities(bundle: WorkloadBundle): [string, PublicJwk][] {
  const out: [string, PublicJwk][] = []
  for (const [kid, spki] of bundle.jwtAuthorities) {
    try {
      const jwk = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }).export({ format: 'jwk' })
      const parsed = parsePublicJwk(jwk as Record<string, unknown>, `jwt authority ${kid}`)
      if (parsed && kid !== '') out.push([kid, parsed])
    } catch {
      // not a key a JWT-SVID can be verified with: it is not an authority a workload could use
    }
  }
  return out
}

/** Precomputed per bundle set: rebuilt when the source says the bundles changed. */
export class BundleViews {
  /** trust domain ID (`spiffe://td`) → DER certificates concatenated, own trust domain first */
  readonly x509: ReadonlyMap<string, Uint8Array>
  /** trust domain ID → X.509 authorities (DER), for SDS */
  readonly x509Authorities: ReadonlyMap<string, readonly Uint8Array[]>
  /** trust domain ID → JWK Set JSON bytes */
  readonly jwt: ReadonlyMap<string, Uint8Array>
  /** the agent's own trust domain ID, or undefined before the first bundle */
  readonly own: string | undefined
  readonly jwtSource: JwtBundleSource

  constructor(bundles: readonly WorkloadBundle[]) {
    const x509 = new Map<string, Uint8Array>()
    const authorities = new Map<string, readonly Uint8Array[]>()
    const jwt = new Map<string, Uint8Array>()
    const jwtBundles = new Map<string, JwtBundle>()
    let own: string | undefined
    for (const b of bundles) {
      const td = bundleTrustDomain(b)
      if (!td || x509.has(td.idString())) continue
      const id = td.idString()
      own ??= id
      x509.set(id, concatDer(b.x509Authorities))
      authorities.set(id, b.x509Authorities)
      const jb = new JwtBundle(td, jwtAuthorities(b))
      jwtBundles.set(td.name, jb)
      jwt.set(id, new TextEncoder().encode(makeJwtBundleJson(jb)))
    }
    this.x509 = x509
    this.x509Authorities = authorities
    this.jwt = jwt
    this.own = own
    this.jwtSource = { getJwtBundle: (td: TrustDomain) => jwtBundles.get(td.name) }
  }

  /** The bundles other than the agent's own trust domain's. */
  federatedX509(): Map<string, Uint8Array> {
    return new Map([...this.x509].filter(([id]) => id !== this.own))
  }
}
