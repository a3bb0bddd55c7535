/**
 * The client address of a request, read from what the runtime adapter passes as the Hono env,
 * without importing the runtime: @hono/node-server gives `{ incoming }` (a node:http request),
 * Bun.serve gives its server (`requestIP(request)`). Forwarding headers are not trusted. IPv4
 * mapped into IPv6 (`::ffff:a.b.c.d`) reads as the IPv4 address; `unknown` when no adapter says.
 */
import type { Context, MiddlewareHandler } from 'hono'

export type ClientAddressOf = (c: Context) => string

interface NodeBindings {
  readonly incoming?: { readonly socket?: { readonly remoteAddress?: string } }
  readonly server?: NodeBindings
}
interface BunServer {
  readonly requestIP?: (r: Request) => { readonly address?: string } | null
}

export function defaultClientAddress(c: Context): string {
  const env = c.env as (NodeBindings & BunServer) | undefined
  let address: string | undefined
  if (env) {
    const node = env.incoming ?? env.server?.incoming
    if (node) address = node.socket?.remoteAddress
    else if (typeof env.requestIP === 'function') address = env.requestIP(c.req.raw)?.address
  }
  if (!address) return 'unknown'
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}

const KEY = 'vouch.clientAddress'

/**
 * Reads the address once, first thing, and keeps it on the context: later middleware (the body
 * limit) may replace the request, and Bun's requestIP only knows the original one.
 */
export function rememberClientAddress(of: ClientAddressOf): { middleware: MiddlewareHandler; of: ClientAddressOf } {
  return {
    middleware: async (c, next) => {
      c.set(KEY as never, of(c) as never)
      await next()
    },
    of: (c) => (c.get(KEY as never) as string | undefined) ?? of(c),
  }
}
