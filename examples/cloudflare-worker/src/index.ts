// A Cloudflare Worker that admits a request only when its Authorization header carries a JWT-SVID
// that verifies against the trust domain's SPIFFE bundle, with the expected audience.
//   Authorization: Bearer <JWT-SVID>  ->  200 { spiffeId, kernels }  |  401 { code, message }
import { BundleSet, isVerifyError, parseSpiffeBundle, verifyJwtSvid } from 'vouch'
import { createEdgePlatform, type EdgePlatform } from 'vouch/edge'
import kernels from 'vouch/wasm/kernels.wasm'

export interface Env {
  readonly TRUST_DOMAIN: string
  readonly AUDIENCE: string
  /** the SPIFFE bundle of TRUST_DOMAIN as JSON text */
  readonly SPIFFE_BUNDLE: string
}

// one platform per isolate: Web Crypto plus the WASM kernels (workerd imports them precompiled);
// when they cannot load, the platform says why in kernelReport and the JS twin gives the same results
let platform: Promise<EdgePlatform> | undefined
let bundles: { text: string; set: BundleSet } | undefined

function bundleSet(env: Env): BundleSet {
  if (bundles?.text !== env.SPIFFE_BUNDLE) {
    bundles = { text: env.SPIFFE_BUNDLE, set: new BundleSet([parseSpiffeBundle(env.TRUST_DOMAIN, env.SPIFFE_BUNDLE)]) }
  }
  return bundles.set
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    platform ??= createEdgePlatform({ wasm: kernels })
    const p = await platform
    const auth = request.headers.get('authorization') ?? ''
    const token = /^Bearer (\S+)$/i.exec(auth)?.[1]
    if (!token) return Response.json({ code: 'ERR_NO_TOKEN', message: 'Authorization: Bearer <JWT-SVID> expected' }, { status: 401 })
    try {
      const svid = await verifyJwtSvid(token, bundleSet(env), { audience: env.AUDIENCE, platform: p })
      return Response.json({ spiffeId: svid.id.toString(), kernels: p.kernelReport })
    } catch (e) {
      if (isVerifyError(e)) return Response.json({ code: e.code, message: e.message }, { status: 401 })
      throw e
    }
  },
}
