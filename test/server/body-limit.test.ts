import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { bodyLimit } from '../../server/body-limit.ts'

function app() {
  const a = new Hono()
  a.use('*', bodyLimit({ maxSize: 10, onError: (c) => c.json({ code: 'ERR_INPUT_TOO_LARGE' }, 413) }))
  a.post('/', async (c) => c.text(`read ${(await c.req.text()).length}`))
  return a
}

describe('bodyLimit', () => {
  it('judges a body with a content-length by that length', async () => {
    const a = app()
    const ok = await a.request('/', { method: 'POST', headers: { 'content-length': '10' }, body: '0123456789' })
    expect([ok.status, await ok.text()]).toEqual([200, 'read 10'])
    const big = await a.request('/', { method: 'POST', headers: { 'content-length': '11' }, body: '0123456789a' })
    expect([big.status, await big.json()]).toEqual([413, { code: 'ERR_INPUT_TOO_LARGE' }])
  })

  it('counts a body without a content-length as it streams (Hono middleware)', async () => {
    const a = app()
    const stream = (text: string) =>
      new ReadableStream({
        start(c) {
          for (const ch of text) c.enqueue(new TextEncoder().encode(ch))
          c.close()
        },
      })
    const big = await a.request('/', { method: 'POST', body: stream('0123456789ab'), duplex: 'half' } as RequestInit)
    expect(big.status).toBe(413)
    const ok = await a.request('/', { method: 'POST', body: stream('0123'), duplex: 'half' } as RequestInit)
    expect([ok.status, await ok.text()]).toEqual([200, 'read 4'])
  })

  it("never reads the request's body stream when a content-length decides (the Node adapter's direct read stays)", async () => {
    const a = new Hono()
    a.use('*', bodyLimit({ maxSize: 10, onError: (c) => c.text('too large', 413) }))
    a.post('/', (c) => c.text('passed'))
    const request = (length: string) => {
      const r = new Request('http://localhost/', { method: 'POST', headers: { 'content-length': length }, body: 'x' })
      Object.defineProperty(r, 'body', {
        get() {
          throw new Error('body read')
        },
      })
      return r
    }
    expect(await (await a.fetch(request('5'))).text()).toBe('passed')
    expect((await a.fetch(request('50'))).status).toBe(413)
  })
})
