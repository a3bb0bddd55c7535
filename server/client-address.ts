/**
 * The client's address as the socket sees it (no forwarding header is trusted): Node
 * (@hono/node-server puts the IncomingMessage in the env, directly or under `server`), Bun
 * (Bun.serve passes the server, whose requestIP answers for the original Request only, so
 * {@link rememberClientAddress} reads it before any middleware replaces `c.req.raw`). undefined
 * in-process (app.request).
 */
import type { Context, MiddlewareHandler } from 'hono'

interface NodeBindings {
  readonly incoming?: { readonly socket?: { readonly remoteAddress?: string } }
}
interface Env extends NodeBindings {
  readonly server?: NodeBindings
  readonly requestIP?: (request: Request) => { readonly address?: string } | null
}

const remembered = new WeakMap<Context, string>()

function socketAddress(c: Context): string | undefined {
  const env = c.env as Env | undefined
  if (!env || typeof env !== 'object') return undefined
  const node = env.incoming ?? env.server?.incoming
  if (node) return node.socket?.remoteAddress
  return typeof env.requestIP === 'function' ? (env.requestIP(c.req.raw)?.address ?? undefined) : undefined
}

export function clientAddress(c: Context): string | undefined {
  return remembered.get(c) ?? socketAddress(c)
}

/** First middleware of the app: notes the address while `c.req.raw` is still the runtime's Request. */
export const rememberClientAddress: MiddlewareHandler = async (c, next) => {
  const address = socketAddress(c)
  if (address !== undefined) remembered.set(c, address)
  await next()
}
