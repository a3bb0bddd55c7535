// A load generator's HTTP/1.1 client, as lean as honest measurement allows, for benches where it
// shares the machine's cores with the server it measures (bench/workers-bench.ts): keep-alive TCP
// sockets, one request at a time on each, a request written as one string, the response read by
// its status line, content-length (or chunked encoding) and body. Every response is read whole
// and handed back; node:http's ClientRequest, Agent and IncomingMessage stream are not used
// (measured: 0.38-0.41 ms of the load generator's CPU per attestation with node:http, see
// docs/performance.md "Workers").
import { connect, type Socket } from 'node:net'

export interface LeanResponse {
  readonly status: number
  readonly body: string
}

export interface LeanHttpClient {
  /**
   * POST `body` (a JSON text, in parts: a Buffer is sent as it is, so a part that never changes is
   * encoded once by the caller) to `path` (ASCII); resolves with the whole response
   */
  post(path: string, ...body: (string | Buffer)[]): Promise<LeanResponse>
  close(): void
}

interface Pending {
  readonly resolve: (r: LeanResponse) => void
  readonly reject: (e: Error) => void
}

const HEAD_END = Buffer.from('\r\n\r\n')

/** One keep-alive connection: one request in flight at a time. */
class Connection {
  private readonly socket: Socket
  private buffer: Buffer = Buffer.alloc(0)
  private pending: Pending | undefined
  closed = false

  constructor(host: string, port: number, onClose: (c: Connection) => void) {
    this.socket = connect({ host, port, noDelay: true })
    this.socket.on('data', (d: Buffer) => this.onData(d))
    const fail = (e: Error) => {
      this.closed = true
      const p = this.pending
      this.pending = undefined
      p?.reject(e)
      onClose(this)
    }
    this.socket.on('error', fail)
    this.socket.on('close', () => fail(new Error('lean-http: connection closed')))
  }

  send(head: string, body: readonly (string | Buffer)[], pending: Pending): void {
    this.pending = pending
    // one writev for the head and every part
    this.socket.cork()
    this.socket.write(head, 'latin1')
    for (const part of body) this.socket.write(part)
    this.socket.uncork()
  }

  destroy(): void {
    this.closed = true
    this.socket.destroy()
  }

  private onData(d: Buffer): void {
    this.buffer = this.buffer.length === 0 ? d : Buffer.concat([this.buffer, d])
    let r: ReturnType<typeof parseResponse>
    try {
      r = parseResponse(this.buffer)
    } catch (e) {
      const p = this.pending
      this.pending = undefined
      this.destroy()
      p?.reject(e as Error)
      return
    }
    if (!r) return
    this.buffer = this.buffer.subarray(r.consumed)
    const p = this.pending
    this.pending = undefined
    if (r.close) this.destroy()
    p?.resolve({ status: r.status, body: r.body })
  }
}

/** One whole response from the start of `b`, or undefined while it is incomplete. Throws on what it cannot read. */
export function parseResponse(b: Buffer): { status: number; body: string; consumed: number; close: boolean } | undefined {
  const headEnd = b.indexOf(HEAD_END)
  if (headEnd < 0) return undefined
  const head = b.toString('latin1', 0, headEnd)
  const lines = head.split('\r\n')
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0]!)
  if (!status) throw new Error(`lean-http: not an HTTP/1.x status line: ${JSON.stringify(lines[0])}`)
  let length: number | undefined
  let chunked = false
  let close = false
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':')
    const name = line.slice(0, colon).toLowerCase()
    const value = line
      .slice(colon + 1)
      .trim()
      .toLowerCase()
    if (name === 'content-length') length = Number(value)
    else if (name === 'transfer-encoding') chunked = value.includes('chunked')
    else if (name === 'connection') close = value.includes('close')
  }
  const bodyStart = headEnd + 4
  if (chunked) {
    const parts: Buffer[] = []
    let at = bodyStart
    for (;;) {
      const lineEnd = b.indexOf('\r\n', at)
      if (lineEnd < 0) return undefined
      const size = Number.parseInt(b.toString('latin1', at, lineEnd), 16)
      if (Number.isNaN(size)) throw new Error('lean-http: bad chunk size')
      const dataStart = lineEnd + 2
      if (b.length < dataStart + size + 2) return undefined
      if (size === 0) {
        // no trailers from this server: the last chunk ends with one more CRLF
        return { status: Number(status[1]), body: Buffer.concat(parts).toString('utf8'), consumed: dataStart + 2, close }
      }
      parts.push(b.subarray(dataStart, dataStart + size))
      at = dataStart + size + 2
    }
  }
  if (length === undefined) throw new Error('lean-http: a response with neither content-length nor chunked encoding')
  if (b.length < bodyStart + length) return undefined
  return { status: Number(status[1]), body: b.toString('utf8', bodyStart, bodyStart + length), consumed: bodyStart + length, close }
}

/** A client of at most `sockets` connections to `base` (http://host:port), opened as needed, kept alive unless told. */
export function leanHttpClient(base: string, sockets: number, options: { keepAlive?: boolean } = {}): LeanHttpClient {
  // without keep-alive every request asks the server to close its connection after the answer,
  // and the next one opens a new connection (as agents that attest once in a while do)
  const connectionHeader = options.keepAlive === false ? 'Connection: close\r\n' : ''
  const url = new URL(base)
  const host = url.hostname
  const port = Number(url.port)
  const hostHeader = `${host}:${port}`
  const idle: Connection[] = []
  const all = new Set<Connection>()
  const waiting: ((c: Connection) => void)[] = []
  const onClose = (c: Connection) => {
    all.delete(c)
    const i = idle.indexOf(c)
    if (i >= 0) idle.splice(i, 1)
  }
  const acquire = (): Promise<Connection> | Connection => {
    while (idle.length > 0) {
      const c = idle.pop()!
      if (!c.closed) return c
    }
    if (all.size < sockets) {
      const c = new Connection(host, port, onClose)
      all.add(c)
      return c
    }
    return new Promise((resolve) => waiting.push(resolve))
  }
  const release = (c: Connection) => {
    if (c.closed) {
      // a slot freed: a waiter gets a new connection
      const w = waiting.shift()
      if (w) {
        const fresh = new Connection(host, port, onClose)
        all.add(fresh)
        w(fresh)
      }
      return
    }
    const w = waiting.shift()
    if (w) w(c)
    else idle.push(c)
  }
  return {
    async post(path, ...body) {
      const c = await acquire()
      let length = 0
      for (const part of body) length += typeof part === 'string' ? Buffer.byteLength(part) : part.length
      const head = `POST ${path} HTTP/1.1\r\nHost: ${hostHeader}\r\nContent-Type: application/json\r\n${connectionHeader}Content-Length: ${length}\r\n\r\n`
      try {
        return await new Promise<LeanResponse>((resolve, reject) => c.send(head, body, { resolve, reject }))
      } finally {
        release(c)
      }
    },
    close() {
      for (const c of all) c.destroy()
      all.clear()
      idle.length = 0
    },
  }
}
