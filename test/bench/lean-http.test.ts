import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { leanHttpClient, parseResponse } from '../../bench/lean-http.ts'

describe('bench load generator client (lean-http)', () => {
  let server: Server
  let base: string
  const connections = new Set<unknown>()
  beforeAll(async () => {
    server = createServer((req, res) => {
      connections.add(req.socket)
      let body = ''
      req.setEncoding('utf8')
      req.on('data', (c: string) => (body += c))
      req.on('end', () => {
        const echo = JSON.stringify({ path: req.url, body, length: req.headers['content-length'] })
        if (req.url === '/chunked') {
          res.writeHead(201, { 'content-type': 'application/json' })
          res.write(echo.slice(0, 5))
          res.end(echo.slice(5))
        } else res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(echo) }).end(echo)
      })
    })
    // every third request on a connection is answered with connection: close
    server.maxRequestsPerSocket = 3
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(() => new Promise<void>((r) => server.close(() => r())))

  it('posts over keep-alive sockets, reads content-length and chunked bodies, and reconnects after connection: close', async () => {
    const c = leanHttpClient(base, 2)
    const bodies = Array.from({ length: 40 }, (_, i) => JSON.stringify({ i, text: 'é'.repeat(i) }))
    const got = await Promise.all(bodies.map((b, i) => c.post(i % 2 ? '/chunked' : `/plain/${i}`, b)))
    got.forEach((r, i) => {
      expect(r.status).toBe(i % 2 ? 201 : 200)
      const echo = JSON.parse(r.body) as { path: string; body: string; length: string }
      expect(echo.body).toBe(bodies[i])
      expect(Number(echo.length)).toBe(Buffer.byteLength(bodies[i]!))
      expect(echo.path).toBe(i % 2 ? '/chunked' : `/plain/${i}`)
    })
    // 40 requests, at most 3 per connection, at most 2 connections at a time
    expect(connections.size).toBeGreaterThanOrEqual(14)
    c.close()
  })

  it('without keep-alive: a new connection per request', async () => {
    const before = connections.size
    const c = leanHttpClient(base, 2, { keepAlive: false })
    const got = await Promise.all(Array.from({ length: 6 }, (_, i) => c.post(`/plain/${i}`, Buffer.from('{"a":'), `${i}}`)))
    expect(got.map((r) => (JSON.parse(r.body) as { body: string }).body)).toEqual(Array.from({ length: 6 }, (_, i) => `{"a":${i}}`))
    expect(connections.size - before).toBe(6)
    c.close()
  })

  it('parseResponse: undefined until the response is whole, then its status, body and length', () => {
    const whole = Buffer.from('HTTP/1.1 404 Not Found\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhelloHTTP/1.1')
    for (let cut = 0; cut < 69; cut++) expect(parseResponse(whole.subarray(0, cut))).toBeUndefined()
    expect(parseResponse(whole)).toEqual({ status: 404, body: 'hello', consumed: 69, close: true })
    expect(() => parseResponse(Buffer.from('SSH-2.0-x\r\n\r\n'))).toThrow(/status line/)
    expect(() => parseResponse(Buffer.from('HTTP/1.1 200 OK\r\n\r\n'))).toThrow(/neither content-length nor chunked/)
  })
})
