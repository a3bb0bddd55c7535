/**
 * The SPIFFE Workload API (proto/workload.proto, SPIFFE Workload Endpoint and Workload API specs) as
 * the agent serves it. Every call:
 *
 * 1. must carry `workload.spiffe.io: true` (else InvalidArgument, before anything else is read);
 * 2. decodes its request (malformed → InvalidArgument with `ERR_WORKLOAD_MALFORMED`);
 * 3. attests the caller from its peer credentials and keeps the SVIDs whose entry it matches
 *    (none → PermissionDenied "no identity issued"): a workload only ever receives what it matches,
 *    whatever it sends.
 *
 * FetchX509SVID, FetchX509Bundles and FetchJWTBundles are streams: the caller is read from /proc
 * once at the start (as SPIRE computes a stream's selectors once), the first response goes out at
 * once, and after every change the source reports (rotation, bundle change) the entries are matched
 * again, the caller checked to still be the process that connected, and a new response pushed
 * unless it is byte-identical to the last one. A caller that no longer matches any entry gets
 * PermissionDenied and the stream ends.
 */
import { isVerifyError, WorkloadApiError } from '../../../core/errors.ts'
import { verifyJwtSvid } from '../../../core/svid/jwt-svid.ts'
import {
  decodeJwtBundlesRequest,
  decodeJwtSvidRequest,
  decodeValidateJwtSvidRequest,
  decodeX509BundlesRequest,
  decodeX509SvidRequest,
  encodeJwtBundlesResponse,
  encodeJwtSvidResponse,
  encodeValidateJwtSvidResponse,
  encodeX509BundlesResponse,
  encodeX509SvidResponse,
  type JsonObject,
  WORKLOAD_API_HEADER,
  WORKLOAD_API_HEADER_VALUE,
  WorkloadApiMethod,
} from '../../../core/workload/index.ts'
import type { Logger } from '../../log.ts'
import type { WorkloadIdentitySource, WorkloadX509Svid } from '../source.ts'
import type { AttestResult, CallerAttestor, CallerFacts, Peer } from './attest.ts'
import { type BundleViews, concatDer } from './bundles.ts'
import type { GrpcCall, GrpcHandler } from './grpc.ts'

/** Bounds of a JWT-SVID request (the server bounds the audience of what it signs too). */
export const MAX_AUDIENCES = 32
export const MAX_AUDIENCE_CHARS = 1024
export const MAX_JWT_CHARS = 64 * 1024

/** What the handlers share: the source, the attestor, and the bundle views (rebuilt on change). */
export interface ServiceContext {
  readonly source: WorkloadIdentitySource
  readonly attestor: CallerAttestor
  readonly logger?: Logger
  views(): BundleViews
}

const invalid = (message: string) => new WorkloadApiError('ERR_WORKLOAD_API_REQUEST_INVALID', message)

/** The `workload.spiffe.io: true` metadata: exactly one value, exactly `true`. */
export function checkSecurityHeader(call: GrpcCall<Peer>): void {
  const v = call.headers[WORKLOAD_API_HEADER]
  if (v !== WORKLOAD_API_HEADER_VALUE) {
    throw new WorkloadApiError(
      'ERR_WORKLOAD_API_SECURITY_HEADER',
      `security header missing from request: ${WORKLOAD_API_HEADER}: true is required`,
    )
  }
}

/** The caller's SVIDs, or PermissionDenied when it matches no entry (`facts`: a stream's, read at its start). */
export async function attestEntitled(ctx: ServiceContext, peer: Peer, facts?: CallerFacts): Promise<AttestResult> {
  const svids = ctx.source.x509Svids()
  const result = facts ? await ctx.attestor.match(peer, facts, svids) : await ctx.attestor.attest(peer, svids)
  if (result.svids.length === 0) {
    throw new WorkloadApiError('ERR_WORKLOAD_API_NO_IDENTITY', 'no identity issued: no registration entry matches the calling workload', {
      detail: { pid: result.caller.pid, uid: result.caller.uid },
    })
  }
  return result
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * Pushes `build(attested)` now and after every source change until the caller goes away. Changes that
 * arrive while a push is being built are coalesced into one more push.
 */
export async function pushOnChange(
  ctx: ServiceContext,
  call: GrpcCall<Peer>,
  build: (attested: AttestResult) => Uint8Array,
): Promise<void> {
  let dirty = true
  let wake: (() => void) | undefined
  const poke = () => {
    dirty = true
    const w = wake
    wake = undefined
    w?.()
  }
  const unsubscribe = ctx.source.onChange(poke)
  const onAbort = () => poke()
  call.signal.addEventListener('abort', onAbort, { once: true })
  let last: Uint8Array | undefined
  try {
    const facts = await ctx.attestor.facts(call.peer)
    while (!call.signal.aborted) {
      if (!dirty) {
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        continue
      }
      dirty = false
      const message = build(await attestEntitled(ctx, call.peer, facts))
      if (call.signal.aborted) break
      if (last === undefined || !sameBytes(last, message)) {
        call.send(message)
        last = message
      }
    }
  } finally {
    unsubscribe()
    call.signal.removeEventListener('abort', onAbort)
  }
}

function x509SvidResponse(ctx: ServiceContext, svids: readonly WorkloadX509Svid[]): Uint8Array {
  const views = ctx.views()
  const ownBundle = views.own !== undefined ? (views.x509.get(views.own) ?? new Uint8Array(0)) : new Uint8Array(0)
  return encodeX509SvidResponse({
    svids: svids.map((s) => ({
      spiffeId: s.entry.spiffeId,
      x509Svid: concatDer(s.chain),
      x509SvidKey: s.privateKey,
      bundle: ownBundle,
      hint: '',
    })),
    crl: [],
    federatedBundles: views.federatedX509(),
  })
}

export function workloadApiHandlers(ctx: ServiceContext): Map<string, GrpcHandler<Peer>> {
  const handlers = new Map<string, GrpcHandler<Peer>>()

  handlers.set(WorkloadApiMethod.fetchX509Svid, async (call) => {
    checkSecurityHeader(call)
    decodeX509SvidRequest(await call.single())
    await pushOnChange(ctx, call, (a) => x509SvidResponse(ctx, a.svids))
  })

  handlers.set(WorkloadApiMethod.fetchX509Bundles, async (call) => {
    checkSecurityHeader(call)
    decodeX509BundlesRequest(await call.single())
    await pushOnChange(ctx, call, () => encodeX509BundlesResponse({ crl: [], bundles: ctx.views().x509 }))
  })

  handlers.set(WorkloadApiMethod.fetchJwtBundles, async (call) => {
    checkSecurityHeader(call)
    decodeJwtBundlesRequest(await call.single())
    await pushOnChange(ctx, call, () => encodeJwtBundlesResponse({ bundles: ctx.views().jwt }))
  })

  handlers.set(WorkloadApiMethod.fetchJwtSvid, async (call) => {
    checkSecurityHeader(call)
    const req = decodeJwtSvidRequest(await call.single())
    if (req.audience.length === 0 || req.audience.every((a) => a === '')) throw invalid('audience must be specified')
    if (req.audience.length > MAX_AUDIENCES) throw invalid(`at most ${MAX_AUDIENCES} audiences, found ${req.audience.length}`)
    if (req.audience.some((a) => a === '' || a.length > MAX_AUDIENCE_CHARS)) {
      throw invalid(`every audience must be a non-empty string of at most ${MAX_AUDIENCE_CHARS} characters`)
    }
    const { svids } = await attestEntitled(ctx, call.peer)
    const selected = req.spiffeId === '' ? svids : svids.filter((s) => s.entry.spiffeId === req.spiffeId)
    if (selected.length === 0) {
      throw new WorkloadApiError(
        'ERR_WORKLOAD_API_NO_IDENTITY',
        `no identity issued: the workload is not entitled to ${JSON.stringify(req.spiffeId)}`,
      )
    }
    const seen = new Set<string>()
    const out: { spiffeId: string; svid: string; hint: string }[] = []
    for (const s of selected) {
      if (seen.has(s.entry.id)) continue
      seen.add(s.entry.id)
      try {
        const jwt = await ctx.source.fetchJwtSvid(s.entry.id, req.audience)
        out.push({ spiffeId: jwt.spiffeId, svid: jwt.token, hint: '' })
      } catch (err) {
        ctx.logger?.log('warn', 'workload api: JWT-SVID fetch failed', { entry: s.entry.id, error: (err as Error).message })
        throw new WorkloadApiError('ERR_WORKLOAD_API_UNAVAILABLE', `could not fetch a JWT-SVID for ${s.entry.spiffeId}`)
      }
    }
    call.send(encodeJwtSvidResponse({ svids: out }))
  })

  handlers.set(WorkloadApiMethod.validateJwtSvid, async (call) => {
    checkSecurityHeader(call)
    const req = decodeValidateJwtSvidRequest(await call.single())
    if (req.audience === '') throw invalid('audience must be specified')
    if (req.svid === '') throw invalid('svid must be specified')
    if (req.audience.length > MAX_AUDIENCE_CHARS || req.svid.length > MAX_JWT_CHARS) throw invalid('audience or svid exceeds its bound')
    await attestEntitled(ctx, call.peer)
    let verified: Awaited<ReturnType<typeof verifyJwtSvid>>
    try {
      verified = await verifyJwtSvid(req.svid, ctx.views().jwtSource, { audience: req.audience })
    } catch (err) {
      if (!isVerifyError(err)) throw err
      throw new WorkloadApiError('ERR_WORKLOAD_API_JWT_INVALID', `the JWT-SVID does not validate: ${err.code}: ${err.message}`)
    }
    call.send(encodeValidateJwtSvidResponse({ spiffeId: verified.id.toString(), claims: verified.claims as JsonObject }))
  })

  return handlers
}
