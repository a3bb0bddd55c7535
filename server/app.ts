/**
 * The attestation server as a portable Hono app: no runtime imports (server/entry/ serves it on
 * Node and Bun). Everything stateful is injected: the verifier and its session store, the CA, the
 * registry, the clock (platform), the logger.
 */
import { Hono } from 'hono'
import { bodyLimit } from 'hono/body-limit'
import type { AttestationVerifier } from '../core/attestation/verifier.ts'
import type { Platform } from '../core/platform.ts'
import type { ServerCa } from './ca/authority.ts'
import type { Logger } from './logging.ts'
import { Metrics } from './metrics.ts'
import { rememberClientAddress } from './client-address.ts'
import { errorResponse, handleError } from './middleware/errors.ts'
import { OPENAPI } from './openapi.ts'
import type { AgentRegistry } from './registry/registry.ts'
import { attestRoutes } from './routes/attest.ts'
import { bundleRoutes } from './routes/bundle.ts'
import { observabilityRoutes } from './routes/observability.ts'
import type { MemorySessionStore, SessionValue } from '../core/session/store.ts'

export const DEFAULT_MAX_BODY_BYTES = 256 * 1024

export interface AppOptions {
  readonly trustDomain: string
  readonly verifier: AttestationVerifier
  readonly sessions: MemorySessionStore<SessionValue>
  readonly ca: ServerCa
  readonly registry: AgentRegistry
  readonly platform: Platform
  readonly logger: Logger
  readonly metrics?: Metrics
  readonly svidTtlMs: number
  readonly maxBodyBytes?: number
  readonly bundleSequence?: bigint
  /** readiness: the policy is loaded (default true once the app exists) */
  readonly policyLoaded?: () => boolean
}

export function createApp(o: AppOptions): Hono {
  const metrics = o.metrics ?? new Metrics()
  const app = new Hono()
  app.onError(handleError(o.logger))
  app.use(rememberClientAddress)
  app.notFound((c) => errorResponse(c, 'ERR_ROUTE_NOT_FOUND', `no route ${c.req.method} ${c.req.path}`))
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
      verifier: o.verifier,
      ca: o.ca,
      registry: o.registry,
      platform: o.platform,
      logger: o.logger,
      metrics,
      svidTtlMs: o.svidTtlMs,
    }),
  )
  const refreshHint = Math.max(1, Math.floor(o.svidTtlMs / 2000))
  app.route('/', bundleRoutes(o.ca.bundle(o.trustDomain, o.bundleSequence ?? 1n, refreshHint)))
  app.get('/v1/openapi.json', (c) => c.json(OPENAPI))
  app.route(
    '/',
    observabilityRoutes({
      metrics,
      sessionsActive: () => o.sessions.active(),
      readiness: { policy: o.policyLoaded ?? (() => true), database: () => o.registry.ping() },
    }),
  )
  return app
}
