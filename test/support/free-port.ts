/**
 * Free TCP ports on 127.0.0.1 for test servers (swtpm data + control ports).
 *
 * The kernel picks an unused port for `listen(0)`; we read it back and close the socket. Between the
 * close and the server's own bind another process may take the port (parallel vitest workers), so
 * callers that start a server must retry on "address in use" — `startSwtpm` does.
 */
import { createServer, type Server } from 'node:net'

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address()
      if (address === null || typeof address === 'string') {
        server.close()
        reject(new Error('free-port: listen(0) returned no TCP address'))
        return
      }
      const { port } = address
      server.close((err) => (err ? reject(err) : resolve(port)))
    })
  })
}

function tryListen(port: number, host: string): Promise<Server | null> {
  return new Promise((resolve) => {
    const server = createServer()
    server.unref()
    server.once('error', () => resolve(null))
    server.listen({ port, host, exclusive: true }, () => resolve(server))
  })
}

/**
 * Two consecutive free ports [p, p+1] (swtpm: the `swtpm:` TCTI always talks to the control channel
 * on data port + 1). Both are bound at the same moment before being released.
 */
export async function freePortPair(host = '127.0.0.1'): Promise<[number, number]> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await tryListen(0, host)
    if (!first) continue
    const address = first.address()
    const port = address !== null && typeof address !== 'string' ? address.port : 0
    const second = port > 0 && port < 65535 ? await tryListen(port + 1, host) : null
    await new Promise<void>((r) => first.close(() => r()))
    if (second) {
      await new Promise<void>((r) => second.close(() => r()))
      return [port, port + 1]
    }
  }
  throw new Error('free-port: no two consecutive free ports found')
}
