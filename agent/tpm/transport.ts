// TPM transports: one interface (send command bytes -> response bytes, close). Pure-JS transports
// here: swtpm / mssim-raw TCP (toolchain-lab §8, raw framing) and a Linux character device.
import { open, readdir, type FileHandle } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'

export interface TpmTransport {
  /** short description for logs: `tcp:127.0.0.1:2321`, `device:/dev/tpmrm0`, `tcti:swtpm:...` */
  readonly description: string
  send(command: Uint8Array): Promise<Uint8Array>
  close(): Promise<void>
}

/** Raw TPM command framing over TCP (swtpm's data port). One connection; one command at a time. */
export class TcpTransport implements TpmTransport {
  readonly description: string
  private socket: Socket | undefined
  private buffer = new Uint8Array(0)
  private waiter: { resolve: (b: Uint8Array) => void; reject: (e: Error) => void } | undefined

  constructor(
    readonly host: string,
    readonly port: number,
    private readonly timeoutMs = 30_000,
  ) {
    this.description = `tcp:${host}:${port}`
  }

  private connect(): Promise<Socket> {
    if (this.socket) return Promise.resolve(this.socket)
    return new Promise((resolve, reject) => {
      const s = connect({ host: this.host, port: this.port })
      s.setNoDelay(true)
      s.once('connect', () => {
        this.socket = s
        resolve(s)
      })
      s.once('error', (err) => {
        if (!this.socket) reject(new Error(`TPM at ${this.host}:${this.port}: ${err.message}`))
      })
      // events of a dropped socket (after a timeout) must not touch the current one
      s.on('error', (err) => {
        if (this.socket === s) this.fail(err)
      })
      s.on('close', () => {
        if (this.socket === s) {
          this.socket = undefined
          this.fail(new Error(`TPM at ${this.host}:${this.port} closed the connection`))
        }
      })
      s.on('data', (chunk: Buffer) => {
        if (this.socket === s) this.onData(chunk)
      })
    })
  }

  private fail(err: Error): void {
    const w = this.waiter
    this.waiter = undefined
    w?.reject(err)
  }

  private onData(chunk: Uint8Array): void {
    const all = new Uint8Array(this.buffer.length + chunk.length)
    all.set(this.buffer)
    all.set(chunk, this.buffer.length)
    this.buffer = all
    if (all.length < 10) return
    const size = new DataView(all.buffer).getUint32(2)
    if (all.length < size) return
    this.buffer = all.slice(size)
    const w = this.waiter
    this.waiter = undefined
    w?.resolve(all.slice(0, size))
  }

  async send(command: Uint8Array): Promise<Uint8Array> {
    const s = await this.connect()
    if (this.waiter) throw new Error('TcpTransport: a command is already in flight')
    this.buffer = new Uint8Array(0)
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // drop the connection: a late answer must never be read as the next command's response
        if (this.socket === s) this.socket = undefined
        s.destroy()
        this.fail(new Error(`TPM at ${this.host}:${this.port}: no response in ${this.timeoutMs} ms`))
      }, this.timeoutMs)
      this.waiter = {
        resolve: (b) => {
          clearTimeout(timer)
          resolve(b)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      }
      s.write(command)
    })
  }

  async close(): Promise<void> {
    const s = this.socket
    this.socket = undefined
    if (!s) return
    await new Promise<void>((resolve) => {
      s.once('close', () => resolve())
      s.end()
      setTimeout(() => {
        s.destroy()
        resolve()
      }, 500).unref()
    })
  }
}

/** A Linux TPM character device (/dev/tpmrm0): write one command, read one response. */
export class DeviceTransport implements TpmTransport {
  readonly description: string
  private handle: FileHandle | undefined
  constructor(readonly path: string) {
    this.description = `device:${path}`
  }

  async send(command: Uint8Array): Promise<Uint8Array> {
    this.handle ??= await open(this.path, 'r+')
    await this.handle.write(command, 0, command.length, null)
    const buf = new Uint8Array(4096 + 10)
    const { bytesRead } = await this.handle.read(buf, 0, buf.length, null)
    return buf.slice(0, bytesRead)
  }

  async close(): Promise<void> {
    const h = this.handle
    this.handle = undefined
    await h?.close()
  }
}

/**
 * Auto-detect the TPM device as SPIRE does (spec §6.2): exactly one `tpmrm\d+`, else exactly one
 * `tpm\d+` under `devDir`. None: "not found"; several in a class: "more than one possible TPM device was found".
 */
export async function detectTpmDevice(devDir = '/dev'): Promise<string> {
  let names: string[]
  try {
    names = await readdir(devDir)
  } catch {
    names = []
  }
  for (const re of [/^tpmrm\d+$/, /^tpm\d+$/]) {
    const found = names.filter((n) => re.test(n)).sort()
    if (found.length > 1) throw new Error(`more than one possible TPM device was found: ${found.map((n) => join(devDir, n)).join(', ')}`)
    if (found.length === 1) return join(devDir, found[0]!)
  }
  throw new Error(`TPM device not found in ${devDir}`)
}

/** Parse `host=..,port=..` of a swtpm:/mssim: TCTI config. */
export function parseTctiHostPort(conf: string): { host: string; port: number } {
  let host = '127.0.0.1'
  let port = 2321
  for (const part of conf.split(',').filter(Boolean)) {
    const [k, v] = part.split('=', 2) as [string, string | undefined]
    if (k === 'host' && v) host = v
    else if (k === 'port' && v) port = Number.parseInt(v, 10)
    else throw new Error(`TCTI option "${part}" is not host=... or port=...`)
  }
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`TCTI port "${conf}" is not a port number`)
  return { host, port }
}
