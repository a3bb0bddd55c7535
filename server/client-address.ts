/**
 * The client address of a request, as the socket sees it (no forwarding header is trusted), read
 * from what the runtime adapter passes as the Hono env, without importing the runtime:
 * @hono/node-server gives `{ incoming }` (a node:http request, directly or under `server`),
 * Bun.serve gives its server, whose `requestIP(request)` answers for the original Request only.
 * IPv4 mapped into IPv6 (`::ffff:a.b.c.d`) reads as the IPv4 address.
 *
 * {@link rememberClientAddress} reads the address once, as the app's first middleware, while
 * `c.req.raw` is still the runtime's Request (hono's bodyLimit replaces it, and Bun's requestIP
 * knows only the original); {@link clientAddress} and the `of` it returns read what it noted.
 */
import type { Context, MiddlewareHandler } from 'hono'

export type ClientAddressOf = (c: Context) => string

interface NodeBindings {
  readonly incoming?: { readonly socket?: { readonly remoteAddress?: string } }
}
interface Env extends NodeBindings {
  readonly server?: NodeBindings
  readonly requestIP?: (request: Request) => { readonly address?: string } | null
}

function socketAddress(c: Context): string | undefined {
  const env = c.env as Env | undefined
  if (!env || typeof env !== 'object') return undefined
  let address: string | undefined
  const node = env.incoming ?? env.server?.incoming
  if (node) address = node.socket?.remoteAddress
  else if (typeof env.requestIP === 'function') address = env.requestIP(c.req.raw)?.address ?? undefined
  if (!address) return undefined
  return address.startsWith('::ffff:') && address.includes('.') ? address.slice(7) : address
}

/** The socket's address, `unknown` when no adapter says (in-process `app.request`). */
export function defaultClientAddress(c: Context): string {
  return socketAddress(c) ?? 'unknown'
}

const remembered = new WeakMap<Context, string>()

/** The address noted by {@link rememberClientAddress}, else the socket's; undefined in-process. */
export function clientAddress(c: Context): string | undefined {
  return remembered.get(c) ?? socketAddress(c)
}

/**
 * The app's first middleware: notes `of(c)` (default: the socket's address) on the context before
 * later middleware may replace the request; `of` of the result reads the noted address.
 */
export function rememberClientAddress(of: ClientAddressOf = defaultClientAddress): {
  middleware: MiddlewareHandler
  of: ClientAddressOf
} {
  return {
    middleware: async (c, next) => {
      remembered.set(c, of(c))
      await next()
    },
    of: (c) => remembered.get(c) ?? of(c),
  }
}
