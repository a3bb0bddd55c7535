// A bench's server process: a script under bench/ (http-server.ts: `vouch server` on Node with the
// bench's repeating challenge randomness; workers-server.ts: the same with `workers: N`) started on a
// config file; resolves once it prints its URL. SIGTERM stops it.
import { spawn } from 'node:child_process'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')

export interface BenchServer {
  readonly url: string
  readonly pid: number
  stop(): Promise<void>
}

export function spawnBenchServer(script: 'http-server.ts' | 'workers-server.ts', configPath: string): Promise<BenchServer> {
  // BENCH_SERVER_NODE_ARGS: extra node flags for the server (and its cluster workers), e.g. --cpu-prof
  const extra = (process.env.BENCH_SERVER_NODE_ARGS ?? '').split(' ').filter(Boolean)
  const proc = spawn(process.execPath, [...extra, '--import', 'tsx', join(ROOT, 'bench', script), configPath], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NODE_OPTIONS: '' },
  })
  const exited = new Promise<void>((r) => proc.once('exit', () => r()))
  let out = ''
  return new Promise((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL')
      reject(new Error(`bench: ${script} did not start: ${out}`))
    }, 60_000)
    proc.stderr.on('data', (d: Buffer) => (out += d.toString()))
    proc.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`bench: ${script} exited (${code}): ${out}`))
    })
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /^\{"url":"([^"]+)"\}$/m.exec(out)
      if (!m) return
      clearTimeout(timer)
      resolveUrl({
        url: m[1]!,
        pid: proc.pid!,
        stop: async () => {
          if (proc.exitCode === null) proc.kill('SIGTERM')
          await exited
        },
      })
    })
  })
}
