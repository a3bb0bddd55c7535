import { SpiffeError, isVerifyError } from '../errors.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import type { X509BundleSource } from './bundle-source.ts'
import { matchId } from './match.ts'
import { parseSpiffeBundle, type SpiffeBundle } from './spiffe-bundle.ts'
import { toSpiffeId, toTrustDomain, type SpiffeId } from './spiffe-id.ts'
import type { TrustDomain } from './trust-domain.ts'
import { verifyX509Svid } from './x509-svid.ts'

/**
 * Fetching a foreign trust domain's bundle from its bundle endpoint (SPIFFE_Federation.md §5).
 * The transport is injected (`fetch`), so core stays runtime-neutral:
 *
 * - `https_web` (§5.2.1): the endpoint is authenticated by Web PKI; the injected fetch must do
 *   standard TLS server authentication (the WHATWG `fetch` does).
 * - `https_spiffe` (§5.2.2): the endpoint presents an X.509-SVID. The injected fetch must complete
 *   the TLS handshake (which proves the peer holds the leaf key), then call `request.verifyPeer`
 *   with the peer chain (leaf first) before sending the request; vouch verifies that chain against
 *   the endpoint trust domain's bundle and requires exactly the configured endpoint SPIFFE ID. A
 *   fetch that never calls verifyPeer fails.
 */

export type BundleEndpointProfile =
  | { readonly type: 'https_web' }
  | {
      readonly type: 'https_spiffe'
      /** the SPIFFE ID the endpoint server must present */
      readonly endpointSpiffeId: SpiffeId | string
      /** the bundle(s) that authenticate the endpoint; for an endpoint of the fetched trust domain,
       * a BundleEndpointClient replaces it with each newly fetched bundle (§5.2.2) */
      readonly bundles: X509BundleSource
    }

export interface BundleFetchRequest {
  readonly url: string
  readonly profile: 'https_web' | 'https_spiffe'
  /** https_spiffe only: must be called with the peer chain (DER, leaf first) before the request is sent */
  readonly verifyPeer?: (peerChain: readonly Uint8Array[]) => Promise<void>
}

export interface BundleFetchResponse {
  readonly status: number
  readonly body: Uint8Array | string
}

export type BundleFetcher = (request: BundleFetchRequest) => Promise<BundleFetchResponse>

export interface FetchBundleOptions {
  readonly trustDomain: TrustDomain | string
  /** the bundle endpoint URL; must be https */
  readonly url: string
  readonly profile: BundleEndpointProfile
  readonly fetch: BundleFetcher
  readonly platform?: Platform
}

function fetchError(message: string, cause?: unknown): SpiffeError {
  return new SpiffeError('ERR_FEDERATION_FETCH', message, cause === undefined ? {} : { cause })
}

/** Fetches and parses one bundle. Rejects with SpiffeError (ERR_FEDERATION_FETCH, ERR_BUNDLE_MALFORMED, ERR_SVID_*). */
export async function fetchBundle(options: FetchBundleOptions): Promise<SpiffeBundle> {
  const td = toTrustDomain(options.trustDomain)
  let url: URL
  try {
    url = new URL(options.url)
  } catch {
    throw new TypeError(`bundle endpoint url is not a url: ${options.url}`)
  }
  if (url.protocol !== 'https:') throw new TypeError(`bundle endpoint url must be https, found ${url.protocol}`)
  const profile = options.profile
  let verified = false
  let request: BundleFetchRequest
  if (profile.type === 'https_spiffe') {
    const expected = toSpiffeId(profile.endpointSpiffeId)
    const platform = options.platform
    request = {
      url: url.href,
      profile: 'https_spiffe',
      verifyPeer: async (chain) => {
        await verifyX509Svid(chain, profile.bundles, { matcher: matchId(expected), ...(platform ? { platform } : {}) })
        verified = true
      },
    }
  } else if (profile.type === 'https_web') {
    request = { url: url.href, profile: 'https_web' }
  } else {
    throw new TypeError(`unknown bundle endpoint profile ${(profile as { type: string }).type}`)
  }
  let response: BundleFetchResponse
  try {
    response = await options.fetch(request)
  } catch (e) {
    if (isVerifyError(e)) throw e // a verifyPeer refusal, passed through by the transport
    throw fetchError(`fetching the bundle of "${td}" from ${url.origin} failed: ${e instanceof Error ? e.message : String(e)}`, e)
  }
  if (profile.type === 'https_spiffe' && !verified) {
    throw fetchError(`the https_spiffe transport did not authenticate the endpoint of "${td}" (verifyPeer was not called)`)
  }
  if (response.status !== 200) throw fetchError(`bundle endpoint of "${td}" answered status ${response.status}, expected 200`)
  return parseSpiffeBundle(td, response.body)
}

export interface BundleEndpointClientOptions extends FetchBundleOptions {
  /** refresh period when the bundle has no spiffe_refresh_hint; default 300 s */
  readonly defaultRefreshSeconds?: number
  /** lower bound on the refresh period, against a hint of 0; default 1 s */
  readonly minRefreshSeconds?: number
}

/**
 * Keeps one foreign trust domain's bundle current: refresh() fetches now; refreshIfDue() fetches
 * once the refresh hint (spiffe_refresh_hint, §4.1.2 of the bundle spec) has elapsed since the last
 * successful fetch. A failed fetch keeps the previous bundle and is retried on the next call.
 */
export class BundleEndpointClient {
  private readonly options: BundleEndpointClientOptions
  private profile: BundleEndpointProfile
  private current: SpiffeBundle | undefined
  private due = 0

  constructor(options: BundleEndpointClientOptions) {
    this.options = options
    this.profile = options.profile
  }

  get trustDomain(): TrustDomain {
    return toTrustDomain(this.options.trustDomain)
  }

  /** the last fetched bundle, if any */
  get bundle(): SpiffeBundle | undefined {
    return this.current
  }

  /** ms since the epoch at which the bundle should be fetched again */
  get nextRefreshAt(): number {
    return this.due
  }

  async refresh(): Promise<SpiffeBundle> {
    const platform = this.options.platform ?? defaultPlatform()
    const bundle = await fetchBundle({ ...this.options, profile: this.profile })
    this.current = bundle
    const seconds = Math.max(bundle.refreshHintSeconds ?? this.options.defaultRefreshSeconds ?? 300, this.options.minRefreshSeconds ?? 1)
    this.due = platform.now() + seconds * 1000
    const p = this.profile
    if (p.type === 'https_spiffe' && toSpiffeId(p.endpointSpiffeId).memberOf(bundle.trustDomain)) {
      this.profile = { ...p, bundles: bundle }
    }
    return bundle
  }

  /** Fetches when due; returns the current bundle (undefined until the first success). */
  async refreshIfDue(): Promise<SpiffeBundle | undefined> {
    const platform = this.options.platform ?? defaultPlatform()
    if (this.current === undefined || platform.now() >= this.due) return this.refresh()
    return this.current
  }
}
