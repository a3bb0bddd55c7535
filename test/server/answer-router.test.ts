import fc from 'fast-check'
import type { Result, Router } from 'hono/router'
import { RegExpRouter } from 'hono/router/reg-exp-router'
import { SmartRouter } from 'hono/router/smart-router'
import { TrieRouter } from 'hono/router/trie-router'
import { describe, expect, it } from 'vitest'
import { AnswerPathRouter, LONG_SEGMENT, longAnswerSegment } from '../../server/answer-router.ts'
import { makeTestServer, postJson } from './harness.ts'

/** the app's routes and middleware, as createApp adds them (method, path) */
const APP_ROUTES: [string, string][] = [
  ['ALL', '*'],
  ['ALL', '/v1/*'],
  ['POST', '/v1/attest'],
  ['POST', '/v1/attest/:sessionId/answer'],
  ['ALL', '/v1/bundle'],
  ['GET', '/v1/bundle'],
  ['POST', '/v1/workload/x509svid'],
  ['GET', '/.well-known/openid-configuration'],
  ['GET', '/v1/openapi.json'],
  ['GET', '/healthz'],
  ['GET', '/metrics'],
]

const hono = () => new SmartRouter<string>({ routers: [new RegExpRouter(), new TrieRouter()] })

function routerOf<R extends Router<string>>(r: R, routes: [string, string][]): R {
  for (const [i, [method, path]] of routes.entries()) r.add(method, path, `${i} ${method} ${path}`)
  return r
}

/** what a match means to the app: each handler with its parameters' values */
function resolved(result: Result<string>): [string, Record<string, string | undefined>][] {
  return result[0].map(([handler, map]) => {
    const params: Record<string, string | undefined> = {}
    for (const [k, v] of Object.entries(map)) params[k] = result.length === 2 ? result[1][v as number] : (v as string)
    return [handler, params]
  })
}

const sessionChar = fc.constantFrom(...'ABCXYZabcxyz0189-_'.split(''))
const longId = fc.array(sessionChar, { minLength: LONG_SEGMENT - 2, maxLength: 600 }).map((c) => c.join(''))
const segment = fc.oneof(
  longId,
  fc.constantFrom('', '_', 'v1', 'attest', 'answer', 'bundle', 'x', '%41', 'a.b'),
  fc.array(fc.constantFrom(...'ab_/-.%'.split('')), { maxLength: 8 }).map((c) => c.join('')),
)
const path = fc.oneof(
  longId.map((id) => `/v1/attest/${id}/answer`),
  fc.tuple(longId, segment).map(([id, s]) => `/v1/attest/${id}/${s}`),
  fc.tuple(segment, longId).map(([s, id]) => `/v1/${s}/${id}/answer`),
  fc.array(segment, { minLength: 1, maxLength: 5 }).map((s) => `/${s.join('/')}`),
)
const method = fc.constantFrom('GET', 'POST', 'PUT')

describe('longAnswerSegment', () => {
  it('finds a long session ID segment of an answer path only', () => {
    const id = 'Ab-_'.repeat(40)
    expect(longAnswerSegment(`/v1/attest/${id}/answer`)).toBe(id)
    expect(longAnswerSegment(`/v1/attest/${id.slice(0, LONG_SEGMENT - 1)}/answer`)).toBeUndefined()
    expect(longAnswerSegment(`/v1/attest/${id.slice(0, LONG_SEGMENT)}/answer`)).toBe(id.slice(0, LONG_SEGMENT))
    expect(longAnswerSegment(`/v1/attest/${id}/x/answer`)).toBeUndefined()
    expect(longAnswerSegment(`/v1/attest/${id}/answers`)).toBeUndefined()
    expect(longAnswerSegment(`/v2/attest/${id}/answer`)).toBeUndefined()
    expect(longAnswerSegment(`/v1/attest/${id}/answer/`)).toBeUndefined()
  })
})

describe('AnswerPathRouter', () => {
  it("matches as Hono's router does on 10,000 random paths, the app's routes", () => {
    const plain = routerOf(hono(), APP_ROUTES)
    const fast = routerOf(new AnswerPathRouter<string>(), APP_ROUTES)
    fc.assert(
      fc.property(method, path, (m, p) => {
        expect(resolved(fast.match(m, p))).toEqual(resolved(plain.match(m, p)))
      }),
      { numRuns: 10_000 },
    )
  })

  it('puts the long session ID back as the answer route parameter', () => {
    const id = 'z'.repeat(5_000)
    const r = resolved(routerOf(new AnswerPathRouter<string>(), APP_ROUTES).match('POST', `/v1/attest/${id}/answer`))
    expect(r.map(([h]) => h)).toEqual(['0 ALL *', '1 ALL /v1/*', '3 POST /v1/attest/:sessionId/answer'])
    expect(r[2]![1]).toEqual({ sessionId: id })
  })

  it('turns the shortcut off for routes that tell one session segment from another, and still matches as Hono does', () => {
    const id = 'q'.repeat(LONG_SEGMENT)
    const extras: [string, string][][] = [
      [['POST', `/v1/attest/${id}/answer`]],
      [['POST', '/v1/attest/:sessionId{[a-p]+}/answer']],
      [['POST', `/v1/:kind/${id}/answer`]],
      [['POST', '/v1/*/answer']],
    ]
    for (const extra of extras) {
      const routes = [...APP_ROUTES, ...extra]
      const plain = routerOf(hono(), routes)
      const fast = routerOf(new AnswerPathRouter<string>(), routes)
      for (const p of [`/v1/attest/${id}/answer`, `/v1/attest/${'r'.repeat(LONG_SEGMENT)}/answer`, `/v1/attest/${'a'.repeat(200)}/answer`])
        expect(resolved(fast.match('POST', p))).toEqual(resolved(plain.match('POST', p)))
    }
  })

  it('works with a TrieRouter inside (parameters as values)', () => {
    const routes: [string, string][] = [
      ['ALL', '/v1/*'],
      ['POST', '/v1/attest/:sessionId/answer'],
    ]
    const id = 'w'.repeat(300)
    const plain = routerOf(new TrieRouter<string>(), routes)
    const fast = routerOf(new AnswerPathRouter<string>(new TrieRouter<string>()), routes)
    expect(resolved(fast.match('POST', `/v1/attest/${id}/answer`))).toEqual(resolved(plain.match('POST', `/v1/attest/${id}/answer`)))
    expect(resolved(fast.match('POST', `/v1/attest/${id}/answer`))[1]![1]).toEqual({ sessionId: id })
  })

  it('routes a long unknown session ID to the answer route of the app (ERR_SESSION_UNKNOWN, not a missing route)', async () => {
    const s = await makeTestServer()
    try {
      const res = await postJson(s.app, `/v1/attest/${'A'.repeat(3_000)}/answer`, { answers: {} })
      expect(res.status).toBe(404)
      expect(((await res.json()) as { code: string }).code).toBe('ERR_SESSION_UNKNOWN')
      const get = await s.app.request(`/v1/attest/${'A'.repeat(3_000)}/answer`)
      expect(((await get.json()) as { code: string }).code).toBe('ERR_ROUTE_NOT_FOUND')
    } finally {
      s.registry.close()
    }
  })
})
