// The server process of the server-path bench's HTTP group: bench/http-server.ts (`vouch server` on
// Node with the bench's repeating challenge randomness) started on a config file; resolves once it
// prints its URL. SIGTERM stops it.
import { spawn } from 'node:child_process'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')

export function spawnBenchServer(configPath: string): Promise<{ url: string; stop(): Promise<void> }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench/http-server.ts'), configPath], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  })
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  let out = ''
  return new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`server path bench: the server did not start: ${out}`))
    }, 60_000)
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()))
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`server path bench: the server exited (${code}): ${out}`))
    })
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /^\{"url":"([^"]+)"\}$/m.exec(out)
      if (!m) return
      clearTimeout(timer)
      resolveUrl({
        url: m[1]!,
        stop: async () => {
          if (proc.exitCode === null) proc.kill('SIGTERM')
          await exited
        },
      })
    })
  })
}
