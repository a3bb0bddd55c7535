// A Deno server that checks the X.509-SVID a caller presents (a PEM chain in the request body)
// against the trust domain's SPIFFE bundle, and answers with the caller's SPIFFE ID.
//   POST /whoami  (body: PEM chain, leaf first)  ->  200 { spiffeId }  |  403 { code, message }
// Environment: TRUST_DOMAIN, SPIFFE_BUNDLE_FILE (the bundle JSON), PORT (default 8000).
import { BundleSet, isVerifyError, matchMemberOf, parseSpiffeBundle, verifyX509Svid } from 'vouch'
import { loadDenoServerPlatform } from 'vouch/deno'

const trustDomain = Deno.env.get('TRUST_DOMAIN') ?? 'example.org'
const bundleFile = Deno.env.get('SPIFFE_BUNDLE_FILE') ?? 'bundle.json'
const bundles = new BundleSet([parseSpiffeBundle(trustDomain, await Deno.readTextFile(bundleFile))])
// Web Crypto, the WASM kernels and bounded caches; logs a line if the kernels fall back to JS
const platform = await loadDenoServerPlatform()
// admit only SVIDs of our own trust domain
const matcher = matchMemberOf(trustDomain)

const options = {
  port: Number(Deno.env.get('PORT') ?? 8000),
  hostname: '127.0.0.1',
  onListen: ({ hostname, port }: { hostname: string; port: number }) => console.log(`listening on http://${hostname}:${port}`),
}

Deno.serve(options, async (req) => {
  const url = new URL(req.url)
  if (req.method !== 'POST' || url.pathname !== '/whoami') return new Response('not found', { status: 404 })
  try {
    const svid = await verifyX509Svid(await req.text(), bundles, { matcher, platform })
    return Response.json({ spiffeId: svid.id.toString() })
  } catch (e) {
    if (isVerifyError(e)) return Response.json({ code: e.code, message: e.message }, { status: 403 })
    throw e
  }
})
