/**
 * GET /v1/bundle      the trust domain's SPIFFE bundle (SPIFFE_Trust_Domain_and_Bundle.md §4):
 *                     JWKS with x509-svid keys (x5c, no kid), spiffe_sequence, spiffe_refresh_hint
 * GET /v1/bundle.pem  the same X.509 authorities as PEM
 */
import { Hono } from 'hono'
import { makeSpiffeBundleJson } from '../../core/svid/spiffe-bundle.ts'
import { makeX509BundlePem } from '../../core/svid/x509-bundle.ts'
import type { SpiffeBundle } from '../../core/svid/spiffe-bundle.ts'

export function bundleRoutes(bundle: SpiffeBundle): Hono {
  const app = new Hono()
  const json = makeSpiffeBundleJson(bundle)
  const pem = makeX509BundlePem(bundle.x509)
  app.get('/v1/bundle', (c) => c.body(json, 200, { 'content-type': 'application/json' }))
  app.get('/v1/bundle.pem', (c) => c.body(pem, 200, { 'content-type': 'application/x-pem-file' }))
  return app
}
