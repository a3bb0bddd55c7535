/**
 * The attestation server as a portable Hono app: no runtime imports (server/entry/ serves it on
 * Node and Bun). Everything stateful is injected: the verifier and its session store, the CA, the
 * registry, the clock (platform), the logger.
 */
import { Hono, type MiddlewareHandler } from 'hono'
import type { AttestationVerifier } from '../core/attestation/verifier.ts'
import type { Platform } from '../core/platform.ts'
import type { ServerCa } from './ca/authority.ts'
import type { Logger } from './logging.ts'
import { Metrics } from './metrics.ts'
import { errorResponse, handleError } from './middleware/errors.ts'
import { OPENAPI } from './openapi.ts'
import type { AnswerLedger } from './registry/answer-ledger.ts'
import type { AgentStore } from './registry/store.ts'
import { attestRoutes } from './routes/attest.ts'
import { bundleRoutes } from './routes/bundle.ts'
import { observabilityRoutes } from './routes/observability.ts'
import { JWKS_PATH, oidcRoutes } from './routes/oidc.ts'
import { workloadRoutes, type ClientCertificates } from './routes/workload.ts'
import type { JwtAuthority } from './ca/jwt-authority.ts'
import { type JwtAuthoritySource, ownJwtAuthority } from './registry/jwt-authorities.ts'
import type { EntryStore } from './registry/entries.ts'
import type { MemorySessionStore, SessionValue } from '../core/session/store.ts'
import { type ClientAddressOf, defaultClientAddress, rememberClientAddress } from './client-address.ts'
import { DEFAULT_RATE_LIMIT, type RateLimitConfig } from './limits-config.ts'
import { addressRateKey, RateLimitError, TokenBucketLimiter } from './rate-limit.ts'
import { LOG_MESSAGES } from './logging.ts'
import { requestPath } from './request-path.ts'
import { AnswerPathRouter } from './answer-router.ts'
import { bodyLimit } from './body-limit.ts'

export const DEFAULT_MAX_BODY_BYTES = 256 * 1024

export interface AppOptions {
  readonly trustDomain: string
  readonly verifier: AttestationVerifier
  /** the gauge of live sessions (an in-memory store; sealed sessions report 0) */
  readonly sessions: Pick<MemorySessionStore<SessionValue>, 'active'>
  readonly ca: ServerCa
  readonly registry: AgentStore
  /**
   * sealed sessions: each answer's use-once claim and agent record written in one step after the
   * checks (registry/answer-ledger.ts); without it the verifier claims before its checks and the
   * record is a second commit
   */
  readonly answers?: AnswerLedger
  readonly platform: Platform
  readonly logger: Logger
  readonly metrics?: Metrics
  readonly svidTtlMs: number
  readonly maxBodyBytes?: number
  readonly bundleSequence?: bigint
  /** readiness: the policy is loaded (default true once the app exists) */
  readonly policyLoaded?: () => boolean
  /** the applied policy document, shown by /ready (server/entry/policy-reload.ts) */
  readonly policyState?: () => { readonly generation: number; readonly sha256: string }
  /** rate limits per client address and attested identity (default DEFAULT_RATE_LIMIT: on) */
  readonly rateLimit?: RateLimitConfig
  /**
   * Whether a start keeps server state (default true: an in-memory session store). Then starts are
   * also limited per attested identity, across addresses, so one captured evidence document cannot
   * fill the store. With sealed sessions (false) a start keeps nothing: the per-address limit bounds
   * starts, and a flood of a device's captured evidence cannot refuse the device's own starts; the
   * identity's limit is charged once its proofs pass (docs/protocol.md).
   */
  readonly startsKeepState?: boolean
  /** the client address of a request (default: from the Node or Bun adapter, client-address.ts) */
  readonly clientAddress?: ClientAddressOf
  /** registration entries: with them, the workload SVID routes (routes/workload.ts) */
  readonly entries?: EntryStore
  /** the request's mTLS client certificate chain (the runtime's TLS socket); none: workload routes answer 401 */
  readonly clientCertificates?: ClientCertificates
  /** the JWT-SVID signing key: in the bundle (`jwt-svid`), and OIDC discovery */
  readonly jwtAuthority?: JwtAuthority
  /**
   * the JWT authorities the bundle and the OIDC JWKS serve (default: `jwtAuthority` alone); with
   * PostgreSQL, every replica's published key (registry/jwt-authorities.ts)
   */
  readonly jwtAuthorities?: JwtAuthoritySource
  /**
   * JWT-SVID `iss` and OIDC issuer: the configured one, or the server's own listening URL (a function,
   * read per request, set once the listener is up). Only an app with neither (in-process use) falls
   * back to the request's origin; a server never takes it from the Host header.
   */
  readonly jwtIssuer?: string | (() => string | undefined)
}

export function createApp(o: AppOptions): Hono {
  const issuer = (): string | undefined => (typeof o.jwtIssuer === 'function' ? o.jwtIssuer() : o.jwtIssuer)
  const metrics = o.metrics ?? new Metrics()
  // the path found by native string searches (request-path.ts) and matched without walking an
  // answer's sealed session ID (answer-router.ts)
  const app = new Hono({ getPath: requestPath, router: new AnswerPathRouter() })
  const client = rememberClientAddress(o.clientAddress ?? defaultClientAddress)
  const clientAddress = client.of
  app.use('*', client.middleware)
  app.onError(handleError(o.logger, clientAddress))
  app.notFound((c) => errorResponse(c, 'ERR_ROUTE_NOT_FOUND', `no route ${c.req.method} ${c.req.path}`))
  const rateLimit = o.rateLimit ?? DEFAULT_RATE_LIMIT
  const now = () => o.platform.now()
  const perAddress = rateLimit.enabled ? new TokenBucketLimiter(rateLimit.perAddress, rateLimit.maxKeys, now) : undefined
  const perIdentity = rateLimit.enabled ? new TokenBucketLimiter(rateLimit.perIdentity, rateLimit.maxKeys, now) : undefined
  if (perAddress) {
    // before the body is read: a refused request costs a map lookup
    app.use('/v1/*', async (c, next) => {
      const client = clientAddress(c)
      const r = perAddress.take(addressRateKey(client))
      if (!r.ok) {
        metrics.countRateLimited('address')
        if (r.first) o.logger.warn(LOG_MESSAGES.rateLimited, { client, scope: 'address', retryAfterSeconds: r.retryAfterSeconds })
        throw new RateLimitError('client address', r.retryAfterSeconds)
      }
      await next()
    })
  }
  app.use(
    '/v1/*',
    bodyLimit({
      maxSize: o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
      onError: (c) =>
        errorResponse(c, 'ERR_INPUT_TOO_LARGE', `request body is larger than ${o.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES} bytes`),
    }),
  )
  app.route(
    '/',
    attestRoutes({
      clientAddress,
      ...(perIdentity ? { perIdentity, identityLimitAtStart: o.startsKeepState ?? true } : {}),
      verifier: o.verifier,
      ca: o.ca,
      registry: o.registry,
      ...(o.answers ? { answers: o.answers } : {}),
      platform: o.platform,
      logger: o.logger,
      metrics,
      svidTtlMs: o.svidTtlMs,
    }),
  )
  const refreshHint = Math.max(1, Math.floor(o.svidTtlMs / 2000))
  const jwt = o.jwtAuthorities ?? (o.jwtAuthority ? ownJwtAuthority(o.jwtAuthority) : undefined)
  // read per request: the CA rotates and replicas publish JWT keys (bundleRoutes remakes its texts when they change)
  const bundle = () => o.ca.bundle(o.trustDomain, o.bundleSequence ?? o.ca.sequence, refreshHint, jwt?.current() ?? [])
  if (jwt) {
    // the bundle and the JWKS list the JWT authorities as read at most JWT_AUTHORITIES_MAX_AGE_MS ago
    const fresh: MiddlewareHandler = async (_c, next) => {
      await jwt.refresh()
      await next()
    }
    app.use('/v1/bundle', fresh)
    app.use(JWKS_PATH, fresh)
  }
  app.route('/', bundleRoutes(bundle))
  if (o.entries)
    app.route(
      '/',
      workloadRoutes({
        bundle,
        ca: o.ca,
        registry: o.registry,
        entries: o.entries,
        platform: o.platform,
        logger: o.logger,
        svidTtlMs: o.svidTtlMs,
        ...(o.clientCertificates ? { clientCertificates: o.clientCertificates } : {}),
        ...(o.jwtAuthority ? { jwtAuthority: o.jwtAuthority } : {}),
        jwtIssuer: issuer,
      }),
    )
  if (o.jwtAuthority && jwt) app.route('/', oidcRoutes({ authorities: () => jwt.current(), issuer }))
  app.get('/v1/openapi.json', (c) => c.json(OPENAPI))
  app.route(
    '/',
    observabilityRoutes({
      metrics,
      sessionsActive: () => o.sessions.active(),
      readiness: { policy: o.policyLoaded ?? (() => true), database: () => o.registry.ping() },
      ...(o.policyState ? { details: () => ({ policy: o.policyState!() }) } : {}),
    }),
  )
  return app
}
