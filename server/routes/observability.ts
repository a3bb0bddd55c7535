/**
 * GET /metrics          Prometheus text (server/metrics.ts)
 * GET /live, /livez     200 while the process serves requests
 * GET /ready, /readyz   200 when the policy is loaded and the database answers, else 503; with
 *                       `details` (the policy's generation and hash) beside the checks
 */
import { Hono } from 'hono'
import type { Metrics } from '../metrics.ts'

export interface ObservabilityOptions {
  readonly metrics: Metrics
  readonly sessionsActive: () => number
  /** named readiness checks: policy, database */
  readonly readiness: Readonly<Record<string, () => boolean>>
  /** extra fields of the /ready body, e.g. { policy: { generation, sha256 } } */
  readonly details?: () => Readonly<Record<string, unknown>>
}

export function observabilityRoutes(o: ObservabilityOptions): Hono {
  const app = new Hono()
  app.get('/metrics', (c) =>
    c.body(o.metrics.render(o.sessionsActive()), 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }),
  )
  const live = (c: { json: (b: unknown, s: 200) => Response }) => c.json({ status: 'ok' }, 200)
  app.get('/live', live)
  app.get('/livez', live)
  const ready = (c: { json: (b: unknown, s: 200 | 503) => Response }) => {
    const checks: Record<string, boolean> = {}
    for (const [name, check] of Object.entries(o.readiness)) {
      try {
        checks[name] = check()
      } catch {
        checks[name] = false
      }
    }
    const ok = Object.values(checks).every(Boolean)
    return c.json({ status: ok ? 'ok' : 'unavailable', checks, ...(o.details?.() ?? {}) }, ok ? 200 : 503)
  }
  app.get('/ready', ready)
  app.get('/readyz', ready)
  return app
}
