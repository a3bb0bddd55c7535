/** Runs a server in a child process (Node via bin/vouch.mjs, or Bun via server/entry/bun.ts) and reads its URL. */
import { spawn, type ChildProcess } from 'node:child_process'
import { request } from 'node:https'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '../..')

export interface Child {
  readonly url: string
  readonly proc: ChildProcess
  readonly output: () => string
  kill(signal?: NodeJS.Signals): Promise<void>
}

/**
 * The URL of the "Server listening" JSON log line (`vouch server` writes only JSON lines to
 * stdout), or of the bare URL line server/entry/bun.ts prints when run directly.
 */
function listeningUrl(out: string): string | undefined {
  for (const line of out.split('\n')) {
    if (/^https?:\/\/\S+$/.test(line)) return line
    if (!line.startsWith('{')) continue
    try {
      const entry = JSON.parse(line) as { msg?: unknown; url?: unknown }
      if (entry.msg === 'Server listening' && typeof entry.url === 'string') return entry.url
    } catch {
      // a line still being written
    }
  }
  return undefined
}

/** `env`: added to this process's environment for the server */
export function spawnServer(runtime: 'node' | 'bun', configPath: string, env: Record<string, string> = {}): Promise<Child> {
  const [cmd, args] =
    runtime === 'node'
      ? [process.execPath, [join(ROOT, 'bin/vouch.mjs'), 'server', '--config', configPath]]
      : [join(ROOT, 'node_modules/.bin/bun'), [join(ROOT, 'server/entry/bun.ts'), '--config', configPath]]
  const proc = spawn(cmd, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NODE_OPTIONS: '', ...env } })
  let out = ''
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000)
    const onData = (d: Buffer) => {
      out += d.toString()
      const url = listeningUrl(out)
      if (url) {
        clearTimeout(timer)
        resolvePromise({
          url,
          proc,
          output: () => out,
          kill: async (signal = 'SIGTERM') => {
            if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal)
            await exited
          },
        })
      }
    }
    proc.stdout!.on('data', onData)
    proc.stderr!.on('data', (d: Buffer) => void (out += d.toString()))
    proc.once('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)))
  })
}

/** A fetch over node:https that trusts only `ca` (the server CA). */
export function caFetch(ca: string): typeof fetch {
  return ((url: string, init: RequestInit = {}) =>
    new Promise<Response>((resolvePromise, reject) => {
      const req = request(url, { method: init.method ?? 'GET', headers: init.headers as Record<string, string>, ca }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () => {
          const headers = new Headers()
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers.set(k, v)
          resolvePromise(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers }))
        })
      })
      req.on('error', reject)
      if (init.body !== undefined) req.write(init.body as string)
      req.end()
    })) as typeof fetch
}
