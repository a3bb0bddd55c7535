/**
 * Workload API sources (the `vouch/workload` API): each watches its streams (./watch.ts: discard
 * malformed updates, reconnect with jittered backoff, stop after INVALID_ARGUMENT) and serves the
 * latest good state to vouch's verifiers.
 *
 * - {@link X509Source} (FetchX509SVID): the X.509-SVIDs, the first being the default identity,
 *   and the X.509 bundles of their trust domain and the federated ones. Implements
 *   X509BundleSource, so `verifyX509Svid(peerChain, source, { matcher })` works as is.
 * - {@link JwtSource} (FetchJWTBundles + FetchJWTSVID): JWT bundles (JwtBundleSource),
 *   `fetchJwtSvid` and `validateJwtSvid` (vouch's verifyJwtSvid, locally; no ValidateJWTSVID call).
 * - {@link BundleSource} (FetchX509Bundles + FetchJWTBundles): bundles only, for validators.
 *
 * `create*` resolve once the first update has arrived (reject after INVALID_ARGUMENT, on abort, or
 * when closed first). `close()` ends the streams and the connection.
 */
import { WorkloadError } from '../../core/errors.ts'
import type { Platform } from '../../core/platform.ts'
import { BundleSet } from '../../core/svid/bundle-set.ts'
import type { JwtBundleSource, X509BundleSource } from '../../core/svid/bundle-source.ts'
import type { JwtBundle } from '../../core/svid/jwt-bundle.ts'
import { type JwtSvid, parseJwtSvidUnverified, verifyJwtSvid } from '../../core/svid/jwt-svid.ts'
import type { SpiffeIdMatcher } from '../../core/svid/match.ts'
import { SpiffeBundle } from '../../core/svid/spiffe-bundle.ts'
import { type SpiffeId, parseSpiffeId } from '../../core/svid/spiffe-id.ts'
import type { TrustDomain } from '../../core/svid/trust-domain.ts'
import type { X509Bundle } from '../../core/svid/x509-bundle.ts'
import { decodeJwtBundlesResponse, encodeJwtBundlesRequest } from '../../core/workload/jwt-svid.ts'
import { WorkloadApiMethod } from '../../core/workload/service.ts'
import {
  decodeX509BundlesResponse,
  decodeX509SvidResponse,
  encodeX509BundlesRequest,
  encodeX509SvidRequest,
} from '../../core/workload/x509-svid.ts'
import { WorkloadApiClient, type WorkloadApiClientOptions } from './client.ts'
import {
  type WorkloadX509Svid,
  type X509Update,
  checkJwtBundlesResponse,
  checkX509BundlesResponse,
  checkX509SvidResponse,
} from './updates.ts'
import { type BackoffOptions, StreamWatch } from './watch.ts'

export interface SourceOptions extends WorkloadApiClientOptions {
  /** share one client (connection) between sources; the source then does not close it */
  readonly client?: WorkloadApiClient
  readonly backoff?: BackoffOptions
  /** platform for vouch's verifiers (default: the default platform) */
  readonly platform?: Platform
  /** refused updates and ended streams; the source keeps working unless `final` */
  readonly onError?: (error: unknown, final: boolean) => void
  /** aborts waiting in create*: the source is closed and the promise rejects */
  readonly signal?: AbortSignal
}

type Listener = () => void

/** What the three sources share: the client, the watches, readiness, listeners. */
abstract class WatchedSource {
  protected readonly client: WorkloadApiClient
  private readonly ownsClient: boolean
  protected readonly watches: StreamWatch<unknown>[] = []
  private readonly listeners = new Set<Listener>()
  private readonly errorListener: ((error: unknown, final: boolean) => void) | undefined
  private closedFlag = false
  private failure: unknown
  private readyResolve!: () => void
  private readyReject!: (e: unknown) => void
  /** resolves at the first good update of every stream; rejects on a final error or close */
  readonly ready: Promise<void>
  protected readonly options: SourceOptions
  private pendingStreams: number

  protected constructor(options: SourceOptions, streams: number) {
    this.options = options
    this.client = options.client ?? new WorkloadApiClient(options)
    this.ownsClient = options.client === undefined
    this.errorListener = options.onError
    this.pendingStreams = streams
    this.ready = new Promise<void>((resolve, reject) => {
      this.readyResolve = resolve
      this.readyReject = reject
    })
    // a rejection nobody awaits must not become an unhandled rejection
    this.ready.catch(() => {})
  }

  protected watch<T>(
    method: WorkloadApiMethod,
    request: Uint8Array,
    accept: (m: Uint8Array) => Promise<T> | T,
    apply: (v: T) => void,
    withdraw: () => void,
  ): void {
    let first = true
    const w = new StreamWatch<T>(
      this.client,
      method,
      request,
      {
        accept,
        onUpdate: (v) => {
          apply(v)
          if (first) {
            first = false
            if (--this.pendingStreams === 0) this.readyResolve()
          }
          for (const l of this.listeners) l()
        },
        onWithdrawn: () => {
          withdraw()
          for (const l of this.listeners) l()
        },
        onError: (e, final) => {
          this.errorListener?.(e, final)
          if (final) {
            this.failure = e
            this.readyReject(e)
            this.close()
          }
        },
      },
      this.options.backoff,
    )
    this.watches.push(w as StreamWatch<unknown>)
  }

  protected startWatches(): void {
    for (const w of this.watches) w.start()
  }

  /** Calls `listener` after every applied update or withdrawal; returns the unsubscribe function. */
  onUpdate(listener: Listener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  get closed(): boolean {
    return this.closedFlag
  }

  protected checkOpen(): void {
    if (this.closedFlag) {
      throw this.failure instanceof WorkloadError
        ? this.failure
        : new WorkloadError('ERR_WORKLOAD_CLOSED', 'the workload api source is closed')
    }
  }

  /** Ends the streams (and the connection, unless it was shared). */
  close(): void {
    if (this.closedFlag) return
    this.closedFlag = true
    for (const w of this.watches) w.stop()
    if (this.ownsClient) this.client.close()
    this.readyReject(this.failure ?? new WorkloadError('ERR_WORKLOAD_CLOSED', 'the workload api source was closed before its first update'))
    this.listeners.clear()
  }

  [Symbol.dispose](): void {
    this.close()
  }
}

async function started<S extends WatchedSource>(source: S, signal: AbortSignal | undefined): Promise<S> {
  if (signal === undefined) {
    await source.ready
    return source
  }
  const onAbort = () => source.close()
  if (signal.aborted) onAbort()
  signal.addEventListener('abort', onAbort, { once: true })
  try {
    await source.ready
    return source
  } finally {
    signal.removeEventListener('abort', onAbort)
  }
}

function noIdentity(what: string): WorkloadError {
  return new WorkloadError('ERR_WORKLOAD_NO_IDENTITY', what)
}

export class X509Source extends WatchedSource implements X509BundleSource {
  private state: X509Update | undefined

  constructor(options: SourceOptions = {}) {
    super(options, 1)
    const platform = options.platform
    this.watch(
      WorkloadApiMethod.fetchX509Svid,
      encodeX509SvidRequest(),
      (m) => checkX509SvidResponse(decodeX509SvidResponse(m), platform ? { platform } : {}),
      (u) => {
        this.state = u
      },
      () => {
        this.state = undefined
      },
    )
    this.startWatches()
  }

  /** The default identity: the first SVID of the latest response. */
  getX509Svid(): WorkloadX509Svid {
    this.checkOpen()
    const svid = this.state?.svids[0]
    if (svid === undefined) throw noIdentity('no X.509-SVID: none received yet, or the Workload API withdrew it')
    return svid
  }

  /** Every SVID of the latest response, in the server's order. */
  getX509Svids(): readonly WorkloadX509Svid[] {
    this.checkOpen()
    return this.state?.svids ?? []
  }

  /** The SVID with this hint (the first, when several share it). */
  getX509SvidByHint(hint: string): WorkloadX509Svid | undefined {
    return this.getX509Svids().find((s) => s.hint === hint)
  }

  /** The X.509 bundles (own and federated trust domains) of the latest response. */
  get bundles(): BundleSet {
    this.checkOpen()
    return this.state?.bundles ?? new BundleSet()
  }

  getX509Bundle(td: TrustDomain): X509Bundle | undefined {
    if (this.closed) return undefined
    return this.state?.bundles.getX509Bundle(td)
  }
}

export class JwtSource extends WatchedSource implements JwtBundleSource {
  private state: BundleSet | undefined

  constructor(options: SourceOptions = {}) {
    super(options, 1)
    this.watch(
      WorkloadApiMethod.fetchJwtBundles,
      encodeJwtBundlesRequest(),
      (m) => checkJwtBundlesResponse(decodeJwtBundlesResponse(m)),
      (u) => {
        this.state = u
      },
      () => {
        this.state = undefined
      },
    )
    this.startWatches()
  }

  get bundles(): BundleSet {
    this.checkOpen()
    return this.state ?? new BundleSet()
  }

  getJwtBundle(td: TrustDomain): JwtBundle | undefined {
    if (this.closed) return undefined
    return this.state?.getJwtBundle(td)
  }

  /**
   * FetchJWTSVID: the JWT-SVIDs for `audience` (every identity, or `spiffeId` only). Each token is
   * checked as a JWT-SVID (vouch's parseJwtSvidUnverified: it was issued for this workload, its
   * signature is the audience's business) and its `sub` must be the `spiffe_id` the server gave.
   */
  async fetchJwtSvids(
    request: { readonly audience: string | readonly string[]; readonly spiffeId?: SpiffeId | string },
    signal?: AbortSignal,
  ): Promise<FetchedJwtSvid[]> {
    this.checkOpen()
    const audience = typeof request.audience === 'string' ? [request.audience] : [...request.audience]
    if (audience.length === 0 || audience.some((a) => typeof a !== 'string' || a === '')) {
      throw new TypeError('fetchJwtSvid needs an audience: one or more non-empty strings')
    }
    const response = await this.client.fetchJwtSvid({ audience, spiffeId: request.spiffeId?.toString() ?? '' }, signal)
    if (response.svids.length === 0) throw refuse('JWTSVIDResponse: svids is empty')
    return response.svids.map((m, i) => {
      const what = `JWTSVIDResponse.svids[${i}]`
      if (m.spiffeId === '') throw refuse(`${what}: spiffe_id is empty`)
      if (m.svid === '') throw refuse(`${what}: svid is empty`)
      let parsed: Omit<JwtSvid, 'token'>
      let id: SpiffeId
      try {
        id = parseSpiffeId(m.spiffeId)
        parsed = parseJwtSvidUnverified(m.svid)
      } catch (e) {
        throw refuse(`${what}: ${e instanceof Error ? e.message : String(e)}`, e)
      }
      if (!parsed.id.equals(id)) throw refuse(`${what}: the token's sub "${parsed.id}" is not spiffe_id "${id}"`)
      return { ...parsed, token: m.svid, hint: m.hint }
    })
  }

  /** The default JWT-SVID (the first of the response) for `audience`. */
  async fetchJwtSvid(
    request: { readonly audience: string | readonly string[]; readonly spiffeId?: SpiffeId | string },
    signal?: AbortSignal,
  ): Promise<FetchedJwtSvid> {
    return (await this.fetchJwtSvids(request, signal))[0]!
  }

  /** Validates a token with vouch's verifyJwtSvid against the JWT bundles of this source. */
  validateJwtSvid(token: string, audience: string | readonly string[], matcher?: SpiffeIdMatcher): Promise<JwtSvid> {
    this.checkOpen()
    return verifyJwtSvid(token, this, {
      audience,
      ...(matcher ? { matcher } : {}),
      ...(this.options.platform ? { platform: this.options.platform } : {}),
    })
  }
}

/** A JWT-SVID as fetched: parsed (not signature-checked), with the server's hint. */
export interface FetchedJwtSvid extends JwtSvid {
  readonly hint: string
}

function refuse(message: string, cause?: unknown): WorkloadError {
  return new WorkloadError('ERR_WORKLOAD_RESPONSE_INVALID', message, cause === undefined ? {} : { cause })
}

export class BundleSource extends WatchedSource implements X509BundleSource, JwtBundleSource {
  private x509: BundleSet | undefined
  private jwt: BundleSet | undefined

  constructor(options: SourceOptions = {}) {
    super(options, 2)
    this.watch(
      WorkloadApiMethod.fetchX509Bundles,
      encodeX509BundlesRequest(),
      (m) => checkX509BundlesResponse(decodeX509BundlesResponse(m)),
      (u) => {
        this.x509 = u
      },
      () => {
        this.x509 = undefined
      },
    )
    this.watch(
      WorkloadApiMethod.fetchJwtBundles,
      encodeJwtBundlesRequest(),
      (m) => checkJwtBundlesResponse(decodeJwtBundlesResponse(m)),
      (u) => {
        this.jwt = u
      },
      () => {
        this.jwt = undefined
      },
    )
    this.startWatches()
  }

  /** The X.509 and JWT authorities of each trust domain, as one BundleSet. */
  get bundles(): BundleSet {
    this.checkOpen()
    const set = new BundleSet()
    const names = new Set([...(this.x509?.trustDomains() ?? []), ...(this.jwt?.trustDomains() ?? [])].map((t) => t.name))
    for (const name of names) {
      set.set(
        new SpiffeBundle(name, {
          x509Authorities: this.x509?.get(name)?.x509Authorities ?? [],
          jwtAuthorities: this.jwt?.get(name)?.jwtAuthorities ?? new Map(),
        }),
      )
    }
    return set
  }

  getX509Bundle(td: TrustDomain): X509Bundle | undefined {
    if (this.closed) return undefined
    return this.x509?.getX509Bundle(td)
  }

  getJwtBundle(td: TrustDomain): JwtBundle | undefined {
    if (this.closed) return undefined
    return this.jwt?.getJwtBundle(td)
  }
}

/** An X509Source that has received its first update. */
export function createX509Source(options: SourceOptions = {}): Promise<X509Source> {
  return started(new X509Source(options), options.signal)
}

/** A JwtSource that has received its first JWT bundles. */
export function createJwtSource(options: SourceOptions = {}): Promise<JwtSource> {
  return started(new JwtSource(options), options.signal)
}

/** A BundleSource that has received its first X.509 and JWT bundles. */
export function createBundleSource(options: SourceOptions = {}): Promise<BundleSource> {
  return started(new BundleSource(options), options.signal)
}
