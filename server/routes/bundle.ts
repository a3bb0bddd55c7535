/**
 * GET /v1/bundle      the trust domain's SPIFFE bundle (SPIFFE_Trust_Domain_and_Bundle.md §4):
 *                     JWKS with x509-svid keys (x5c, no kid), spiffe_sequence, spiffe_refresh_hint
 * GET /v1/bundle.pem  the same X.509 authorities as PEM
 */
import { Hono } from 'hono'
import { makeSpiffeBundleJson } from '../../core/svid/spiffe-bundle.ts'
import { makeX509BundlePem } from '../../core/svid/x509-bundle.ts'
import type { SpiffeBundle } from '../../core/svid/spiffe-bundle.ts'

/**
 * `bundle` is a value, or a function read per request (the CA rotates, replicas publish JWT keys);
 * its texts are made again when the sequence number, the root count or the JWT key IDs change.
 */
export function bundleRoutes(bundle: SpiffeBundle | (() => SpiffeBundle)): Hono {
  const app = new Hono()
  const current = typeof bundle === 'function' ? bundle : () => bundle
  let made: { key: string; json: string; pem: string } | undefined
  const texts = () => {
    const b = current()
    const key = `${b.sequenceNumber}:${b.x509.authorities.length}:${[...b.jwtAuthorities.keys()].join(',')}`
    if (made?.key !== key) made = { key, json: makeSpiffeBundleJson(b), pem: makeX509BundlePem(b.x509) }
    return made
  }
  app.get('/v1/bundle', (c) => c.body(texts().json, 200, { 'content-type': 'application/json' }))
  app.get('/v1/bundle.pem', (c) => c.body(texts().pem, 200, { 'content-type': 'application/x-pem-file' }))
  return app
}
