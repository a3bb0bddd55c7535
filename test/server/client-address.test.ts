import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { clientAddress, rememberClientAddress } from '../../server/client-address.ts'

const app = new Hono().get('/', (c) => c.text(clientAddress(c) ?? '(none)'))
const ask = async (env: unknown) => (await app.request('/', {}, env)).text()

describe('clientAddress', () => {
  it('reads the socket address on Node (env.incoming, or env.server.incoming), requestIP on Bun, nothing in-process', async () => {
    expect(await ask({ incoming: { socket: { remoteAddress: '192.0.2.7' } } })).toBe('192.0.2.7')
    expect(await ask({ server: { incoming: { socket: { remoteAddress: '2001:db8::1' } } } })).toBe('2001:db8::1')
    expect(await ask({ requestIP: (r: Request) => (r instanceof Request ? { address: '198.51.100.9' } : null) })).toBe('198.51.100.9')
    expect(await ask({ requestIP: () => null })).toBe('(none)')
    expect(await ask(undefined)).toBe('(none)')
  })

  it("keeps Bun's address when a later middleware replaces the Request (requestIP knows only the original)", async () => {
    let original: Request | undefined
    const bunLike = { requestIP: (r: Request) => (r === original ? { address: '198.51.100.9' } : null) }
    const replacing = new Hono()
      .use(rememberClientAddress().middleware)
      .use(async (c, next) => {
        c.req.raw = new Request(c.req.raw) // as hono's bodyLimit does
        await next()
      })
      .get('/', (c) => c.text(clientAddress(c) ?? '(none)'))
    original = new Request('http://x/')
    expect(await (await replacing.fetch(original, bunLike)).text()).toBe('198.51.100.9')
    const bare = new Hono()
      .use(async (c, next) => {
        c.req.raw = new Request(c.req.raw)
        await next()
      })
      .get('/', (c) => c.text(clientAddress(c) ?? '(none)'))
    original = new Request('http://x/')
    expect(await (await bare.fetch(original, bunLike)).text()).toBe('(none)')
  })

  it('never trusts a forwarding header', async () => {
    const res = await app.request('/', { headers: { 'x-forwarded-for': '203.0.113.1', forwarded: 'for=203.0.113.1' } })
    expect(await res.text()).toBe('(none)')
  })
})
