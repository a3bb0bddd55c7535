/**
 * OIDC discovery for the JWT-SVID issuer (OpenID Connect Discovery 1.0 §3-4), so relying parties
 * that speak OIDC (cloud workload identity federation) can verify JWT-SVIDs:
 *
 * GET /.well-known/openid-configuration  issuer, jwks_uri, ES256, id_token, public subjects
 * GET /keys                              the JWT authority as a JWK Set (`use: sig`, `alg`, `kid`)
 *
 * The issuer is the configured one, else the request's origin (then tokens and discovery agree
 * when both are fetched through the same address).
 */
import { Hono } from 'hono'
import type { JwtAuthority } from '../ca/jwt-authority.ts'

export const JWKS_PATH = '/keys'

export function oidcRoutes(o: { readonly jwtAuthority: JwtAuthority; readonly issuer?: string }): Hono {
  const app = new Hono()
  const jwks = JSON.stringify({ keys: [o.jwtAuthority.oidcJwk()] })
  app.get('/.well-known/openid-configuration', (c) => {
    const issuer = o.issuer ?? new URL(c.req.url).origin
    return c.json({
      issuer,
      jwks_uri: `${issuer.replace(/\/$/, '')}${JWKS_PATH}`,
      response_types_supported: ['id_token'],
      subject_types_supported: ['public'],
      id_token_signing_alg_values_supported: ['ES256'],
    })
  })
  app.get(JWKS_PATH, (c) => c.body(jwks, 200, { 'content-type': 'application/json' }))
  return app
}
