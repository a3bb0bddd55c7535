/**
 * OIDC discovery for the JWT-SVID issuer (OpenID Connect Discovery 1.0 §3-4), so relying parties
 * that speak OIDC (cloud workload identity federation) can verify JWT-SVIDs:
 *
 * GET /.well-known/openid-configuration  issuer, jwks_uri, ES256, id_token, public subjects
 * GET /keys                              the JWT authorities as a JWK Set (`use: sig`, `alg`, `kid`):
 *                                        this server's key, and with PostgreSQL every replica's
 *
 * The issuer is the configured one, else the server's listening URL; only an in-process app with
 * neither uses the request's origin (never the Host header of a real server).
 */
import { Hono } from 'hono'
import type { PublicJwk } from '../../core/svid/jwk.ts'

export const JWKS_PATH = '/keys'

/** The JWKS member of an ES256 authority for OIDC consumers (`use: sig`, `alg: ES256`). */
export function oidcJwk(kid: string, jwk: PublicJwk): Record<string, string> {
  return { ...(jwk as Record<string, string>), kid, use: 'sig', alg: 'ES256' }
}

export function oidcRoutes(o: {
  /** the JWT authorities (kid, public JWK), read per request */
  readonly authorities: () => readonly (readonly [string, PublicJwk])[]
  readonly issuer?: () => string | undefined
}): Hono {
  const app = new Hono()
  let made: { list: readonly (readonly [string, PublicJwk])[]; json: string } | undefined
  const jwks = () => {
    const list = o.authorities()
    if (made?.list !== list) made = { list, json: JSON.stringify({ keys: list.map(([kid, jwk]) => oidcJwk(kid, jwk)) }) }
    return made.json
  }
  app.get('/.well-known/openid-configuration', (c) => {
    const issuer = o.issuer?.() ?? new URL(c.req.url).origin
    return c.json({
      issuer,
      jwks_uri: `${issuer.replace(/\/$/, '')}${JWKS_PATH}`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
    })
  })
  app.get(JWKS_PATH, (c) => c.body(jwks(), 200, { 'content-type': 'application/json' }))
  return app
}
