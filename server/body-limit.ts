/**
 * Hono's bodyLimit with a first step that reads only headers. Hono's middleware starts by reading
 * `c.req.raw.body`; on @hono/node-server that getter builds a full undici Request (an
 * AbortController, a web stream over the socket) for every POST, after which the route's
 * `req.text()` reads through that stream instead of the adapter's direct path. A request that
 * carries a body (any method but GET and HEAD, as the Node and Bun adapters give one) with a
 * content-length and no transfer-encoding is judged here by its content-length, as Hono's
 * middleware judges it; any other request goes through Hono's middleware unchanged.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { bodyLimit as honoBodyLimit } from 'hono/body-limit'

export interface BodyLimitOptions {
  readonly maxSize: number
  readonly onError: (c: Context) => Response | Promise<Response>
}

export function bodyLimit(options: BodyLimitOptions): MiddlewareHandler {
  const streamed = honoBodyLimit(options)
  return async function bodyLimitByLength(c, next) {
    const raw = c.req.raw
    const method = raw.method
    const length = method !== 'GET' && method !== 'HEAD' ? raw.headers.get('content-length') : null
    if (length === null || raw.headers.has('transfer-encoding')) return streamed(c, next)
    if (Number.parseInt(length, 10) > options.maxSize) return options.onError(c)
    await next()
  }
}
