/**
 * Envoy SDS (envoy.service.secret.v3.SecretDiscoveryService) on the agent socket, as the SPIRE agent
 * serves it:
 *
 * - a `tls_certificate` secret per X.509-SVID the caller (Envoy) matches, named by its SPIFFE ID, and
 *   the first one also as `default`; the chain and the PKCS#8 key go inline as PEM;
 * - a `validation_context` secret per trust domain, named by its SPIFFE ID (`spiffe://example.org`),
 *   the agent's own one also as `ROOTCA`; its `trusted_ca` is the X.509 authorities inline as PEM;
 * - `ALL`: one validation context with Envoy's SPIFFE certificate validator
 *   (`envoy.tls.cert_validator.spiffe`) holding every trust domain, each trusted only for its own IDs;
 * - no resource names asks for everything the caller may have; a name the caller is not entitled to
 *   is InvalidArgument "workload is not authorized for the requested identities", as SPIRE answers.
 *
 * StreamSecrets follows the xDS state-of-the-world protocol: the server answers a request whose
 * resource names differ from the last one, pushes a new version (counter) with a fresh nonce after
 * every change the source reports, ignores a request that names a stale nonce, and logs a NACK
 * (`error_detail`). FetchSecrets answers once, with no version and no nonce. DeltaSecrets is
 * Unimplemented. Unlike the Workload API, Envoy sends no `workload.spiffe.io` header and SDS needs
 * none; bundles are public, so a caller that matches no entry still gets validation contexts, never
 * a certificate.
 */
import { randomBytes } from 'node:crypto'
import { WorkloadApiError } from '../../../core/errors.ts'
import {
  type AnyMessage,
  type DiscoveryRequest,
  decodeDiscoveryRequest,
  encodeDiscoveryResponse,
  encodeSecret,
  encodeSpiffeCertValidatorConfig,
  SDS_ALL_BUNDLES_NAME,
  SDS_DEFAULT_BUNDLE_NAME,
  SDS_DEFAULT_SVID_NAME,
  SdsMethod,
  SECRET_TYPE_URL,
  SPIFFE_VALIDATOR_NAME,
  SPIFFE_VALIDATOR_TYPE_URL,
} from '../../../core/workload/sds/index.ts'
import type { WorkloadX509Svid } from '../source.ts'
import type { Peer } from './attest.ts'
import { certificatesPem, privateKeyPem } from './bundles.ts'
import type { GrpcCall, GrpcHandler } from './grpc.ts'
import type { ServiceContext } from './workload.ts'

export const MAX_SDS_RESOURCE_NAMES = 256
export const MAX_SDS_RESOURCE_NAME_CHARS = 2048

function checkRequest(req: DiscoveryRequest): void {
  if (req.typeUrl !== '' && req.typeUrl !== SECRET_TYPE_URL) {
    throw new WorkloadApiError(
      'ERR_WORKLOAD_API_REQUEST_INVALID',
      `SDS serves ${SECRET_TYPE_URL}, the request asks for ${JSON.stringify(req.typeUrl.slice(0, 200))}`,
    )
  }
  if (req.resourceNames.length > MAX_SDS_RESOURCE_NAMES) {
    throw new WorkloadApiError(
      'ERR_WORKLOAD_API_LIMIT',
      `at most ${MAX_SDS_RESOURCE_NAMES} resource names, found ${req.resourceNames.length}`,
    )
  }
  if (req.resourceNames.some((n) => n.length > MAX_SDS_RESOURCE_NAME_CHARS)) {
    throw new WorkloadApiError('ERR_WORKLOAD_API_LIMIT', `a resource name is longer than ${MAX_SDS_RESOURCE_NAME_CHARS} characters`)
  }
}

function secretAny(bytes: Uint8Array): AnyMessage {
  return { typeUrl: SECRET_TYPE_URL, value: bytes }
}

/** The secrets `names` asks for (all when empty), or InvalidArgument naming what the caller may not have. */
export function buildSecrets(ctx: ServiceContext, svids: readonly WorkloadX509Svid[], names: readonly string[]): AnyMessage[] {
  const views = ctx.views()
  const wanted = new Set(names.filter((n) => n !== ''))
  const all = wanted.size === 0
  const out: AnyMessage[] = []
  const validation = (name: string, td: string) => {
    const cas = views.x509Authorities.get(td) ?? []
    out.push(secretAny(encodeSecret({ name, validationContext: { trustedCa: { inlineBytes: certificatesPem(cas) } } })))
  }
  for (const td of views.x509.keys()) {
    if (all || wanted.has(td)) {
      validation(td, td)
      wanted.delete(td)
    }
  }
  if (views.own !== undefined && wanted.has(SDS_DEFAULT_BUNDLE_NAME)) {
    validation(SDS_DEFAULT_BUNDLE_NAME, views.own)
    wanted.delete(SDS_DEFAULT_BUNDLE_NAME)
  }
  if (wanted.has(SDS_ALL_BUNDLES_NAME) && views.x509Authorities.size > 0) {
    // every trust domain, each trusted only for its own SPIFFE IDs (Envoy's SPIFFE validator)
    const trustDomains = [...views.x509Authorities]
      .map(([id, cas]) => ({ name: id.slice('spiffe://'.length), trustBundle: { inlineBytes: certificatesPem(cas) } }))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    const typedConfig = { typeUrl: SPIFFE_VALIDATOR_TYPE_URL, value: encodeSpiffeCertValidatorConfig({ trustDomains }) }
    out.push(
      secretAny(
        encodeSecret({
          name: SDS_ALL_BUNDLES_NAME,
          validationContext: { customValidatorConfig: { name: SPIFFE_VALIDATOR_NAME, typedConfig } },
        }),
      ),
    )
    wanted.delete(SDS_ALL_BUNDLES_NAME)
  }
  const certificate = (name: string, svid: WorkloadX509Svid) =>
    out.push(
      secretAny(
        encodeSecret({
          name,
          tlsCertificate: {
            certificateChain: { inlineBytes: certificatesPem(svid.chain) },
            privateKey: { inlineBytes: privateKeyPem(svid.privateKey) },
          },
        }),
      ),
    )
  const seen = new Set<string>()
  for (const svid of svids) {
    const id = svid.entry.spiffeId
    if (seen.has(id)) continue
    seen.add(id)
    if (all || wanted.has(id)) {
      certificate(id, svid)
      wanted.delete(id)
    }
  }
  if (svids[0] !== undefined && wanted.has(SDS_DEFAULT_SVID_NAME)) {
    certificate(SDS_DEFAULT_SVID_NAME, svids[0])
    wanted.delete(SDS_DEFAULT_SVID_NAME)
  }
  if (wanted.size > 0) {
    const missing = [...wanted].sort().map((n) => JSON.stringify(n.slice(0, 200)))
    throw new WorkloadApiError(
      'ERR_WORKLOAD_API_SDS_NOT_AUTHORIZED',
      `workload is not authorized for the requested identities [${missing.join(' ')}]`,
    )
  }
  return out
}

function nonce(): string {
  return randomBytes(4).toString('hex')
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false
  const set = new Set(a)
  return b.every((n) => set.has(n))
}

type Event = { kind: 'request'; request: DiscoveryRequest } | { kind: 'update' } | { kind: 'end'; error?: unknown }

async function streamSecrets(ctx: ServiceContext, call: GrpcCall<Peer>): Promise<void> {
  const events: Event[] = []
  let wake: (() => void) | undefined
  const push = (e: Event) => {
    // updates coalesce: one pending update covers any number of changes
    if (e.kind === 'update' && events.some((x) => x.kind === 'update')) return
    events.push(e)
    const w = wake
    wake = undefined
    w?.()
  }
  const unsubscribe = ctx.source.onChange(() => push({ kind: 'update' }))
  const onAbort = () => push({ kind: 'end' })
  call.signal.addEventListener('abort', onAbort, { once: true })
  void (async () => {
    try {
      for await (const m of call.messages()) push({ kind: 'request', request: decodeDiscoveryRequest(m) })
      push({ kind: 'end' })
    } catch (error) {
      push({ kind: 'end', error })
    }
  })()

  let version = 0
  let lastNonce = ''
  let lastRequest: DiscoveryRequest | undefined
  try {
    const facts = await ctx.attestor.facts(call.peer)
    for (;;) {
      const event = events.shift()
      if (event === undefined) {
        await new Promise<void>((resolve) => {
          wake = resolve
        })
        continue
      }
      if (event.kind === 'end') {
        if (event.error !== undefined) throw event.error
        return
      }
      if (event.kind === 'request') {
        const req = event.request
        checkRequest(req)
        if (req.errorDetail) {
          ctx.logger?.log('warn', 'sds: envoy reported an error applying secrets', {
            names: req.resourceNames.slice(0, 16),
            error: req.errorDetail.message.slice(0, 512),
          })
        }
        // a reply to an older response than the last one is stale: ignore it
        if (lastNonce !== '' && req.responseNonce !== lastNonce) continue
        const changed = lastRequest === undefined || !sameNames(lastRequest.resourceNames, req.resourceNames)
        lastRequest = req
        if (!changed) continue
      } else {
        version++
        if (lastRequest === undefined) continue
      }
      const { svids } = await ctx.attestor.match(call.peer, facts, ctx.source.x509Svids())
      const resources = buildSecrets(ctx, svids, lastRequest.resourceNames)
      if (call.signal.aborted) return
      lastNonce = nonce()
      call.send(
        encodeDiscoveryResponse({
          versionInfo: String(version),
          resources,
          canary: false,
          typeUrl: SECRET_TYPE_URL,
          nonce: lastNonce,
        }),
      )
    }
  } finally {
    unsubscribe()
    call.signal.removeEventListener('abort', onAbort)
  }
}

export function sdsHandlers(ctx: ServiceContext): Map<string, GrpcHandler<Peer>> {
  const handlers = new Map<string, GrpcHandler<Peer>>()
  handlers.set(SdsMethod.streamSecrets, (call) => streamSecrets(ctx, call))
  handlers.set(SdsMethod.fetchSecrets, async (call) => {
    const req = decodeDiscoveryRequest(await call.single())
    checkRequest(req)
    const { svids } = await ctx.attestor.attest(call.peer, ctx.source.x509Svids())
    const resources = buildSecrets(ctx, svids, req.resourceNames)
    call.send(encodeDiscoveryResponse({ versionInfo: '', resources, canary: false, typeUrl: SECRET_TYPE_URL, nonce: '' }))
  })
  handlers.set(SdsMethod.deltaSecrets, async () => {
    throw new WorkloadApiError('ERR_WORKLOAD_API_METHOD_UNKNOWN', 'DeltaSecrets is not implemented; use StreamSecrets')
  })
  return handlers
}
