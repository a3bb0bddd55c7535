/**
 * The app's router: Hono's default (SmartRouter over RegExpRouter and TrieRouter) with the answer
 * route's session ID kept out of the regular expression. RegExpRouter matches a path against one
 * regular expression of every route; on `/v1/attest/{sessionId}/answer` its `[^/]+` walks the
 * whole sealed session ID (~5,100 characters), ~13 µs per answer in the app. A path of that shape
 * whose session ID segment is at least LONG_SEGMENT characters is matched as
 * `/v1/attest/_/answer`, and the segment is put back in the parameters where the router captured
 * `_`; any other path goes to the router as it is.
 *
 * That is the same match only while no route tells one segment in that place from another: a route
 * that could match a path under `/v1/attest/` with a literal third segment, or any route with a
 * regular-expression parameter (`:x{...}`), turns the shortcut off for good (`add`).
 */
import type { ParamIndexMap, ParamStash, Params, Result, Router } from 'hono/router'
import { RegExpRouter } from 'hono/router/reg-exp-router'
import { SmartRouter } from 'hono/router/smart-router'
import { TrieRouter } from 'hono/router/trie-router'

const PREFIX = '/v1/attest/'
const SUFFIX = '/answer'
const PLACEHOLDER = '_'
const PLACEHOLDER_PATH = `${PREFIX}${PLACEHOLDER}${SUFFIX}`
/** shorter session ID segments (an in-memory session's 32 characters) go to the router as they are */
export const LONG_SEGMENT = 128

/** The session ID segment of `/v1/attest/{segment}/answer` when it is long and holds no `/`; else undefined. */
export function longAnswerSegment(path: string): string | undefined {
  const end = path.length - SUFFIX.length
  if (end - PREFIX.length < LONG_SEGMENT || !path.startsWith(PREFIX) || !path.endsWith(SUFFIX)) return undefined
  const slash = path.indexOf('/', PREFIX.length)
  return slash === end ? path.slice(PREFIX.length, end) : undefined
}

const dynamic = (segment: string) => segment === '*' || segment.startsWith(':')

/** Whether a route could tell one `/v1/attest/{segment}/answer` path from another by its segment. */
function distinguishesAnswerSegment(path: string): boolean {
  if (path.includes('{')) return true
  const s = path.split('/')
  // only routes that can reach a path under /v1/attest/ and name its third segment
  if (s.length < 4 || !(s[1] === 'v1' || dynamic(s[1]!)) || !(s[2] === 'attest' || dynamic(s[2]!))) return false
  const third = s[3]!
  return !(third === '' || dynamic(third)) || (s[2] === '*' && s.length > 3) || (s[1] === '*' && s.length > 3)
}

function withSegment<T>(result: Result<T>, segment: string): Result<T> {
  if (result.length === 2) {
    const stash: ParamStash = result[1].map((v) => (v === PLACEHOLDER ? segment : v))
    return [result[0] as [T, ParamIndexMap][], stash]
  }
  const matched = (result[0] as [T, Params][]).map(([handler, params]): [T, Params] => {
    const copy: Params = {}
    for (const k of Object.keys(params)) copy[k] = params[k] === PLACEHOLDER ? segment : params[k]!
    return [handler, copy]
  })
  return [matched]
}

export class AnswerPathRouter<T> implements Router<T> {
  readonly name = 'AnswerPathRouter'
  private shortcut = true

  constructor(private readonly inner: Router<T> = new SmartRouter<T>({ routers: [new RegExpRouter(), new TrieRouter()] })) {}

  add(method: string, path: string, handler: T): void {
    if (distinguishesAnswerSegment(path)) this.shortcut = false
    this.inner.add(method, path, handler)
  }

  match(method: string, path: string): Result<T> {
    const segment = this.shortcut ? longAnswerSegment(path) : undefined
    if (segment === undefined) return this.inner.match(method, path)
    return withSegment(this.inner.match(method, PLACEHOLDER_PATH), segment)
  }
}
