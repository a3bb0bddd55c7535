// The native addons from source (toolchain-lab §8): agent/native is copied to a scratch package and
// built with npm's bundled node-gyp (`npm run`, as the install step does; `npx node-gyp` is refused),
// the fresh .node is loaded and talks to a live swtpm through the `swtpm:` TCTI exactly as the pure
// raw-TCP transport does, under Node, Bun and Deno. And the install step never fails: without pkg-config/libtss2 it exits 0
// and says the agent will use the pure transports.
import { spawnSync } from 'node:child_process'
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { connect, createServer, type Socket } from 'node:net'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as cmd from '../../core/tpm2/command/index.ts'
import { TPM_RH } from '../../core/tpm2/constants.ts'
import { TcpTransport } from '../../agent/tpm/transport.ts'
import { NativeTctiTransport } from '../../agent/tpm/native.ts'
import { loadPeerCredAddon } from '../../agent/workload/api/peercred.ts'
import { TpmClient } from '../../agent/tpm/client.ts'
import { startSwtpm, type Swtpm } from '../support/swtpm.ts'

const ROOT = resolve(import.meta.dirname, '../..')
let scratch: string
let tpm: Swtpm

beforeAll(async () => {
  // inside the repo (.tmp is ignored) so binding.gyp's require('node-addon-api') resolves
  await mkdir(join(ROOT, '.tmp'), { recursive: true })
  scratch = await mkdtemp(join(ROOT, '.tmp', 'native-build-'))
  tpm = await startSwtpm({ name: 'native-build' })
}, 60_000)
afterAll(async () => {
  await tpm?.stop()
  if (scratch) await rm(scratch, { recursive: true, force: true })
})

describe("native bridge built from source with npm's node-gyp", () => {
  let addonPath: string
  let peercredPath: string

  it('builds agent/native in a scratch package', async () => {
    await cp(join(ROOT, 'agent', 'native', 'binding.gyp'), join(scratch, 'binding.gyp'))
    await cp(join(ROOT, 'agent', 'native', 'tcti.cc'), join(scratch, 'tcti.cc'))
    await cp(join(ROOT, 'agent', 'native', 'peercred.cc'), join(scratch, 'peercred.cc'))
    await writeFile(
      join(scratch, 'package.json'),
      JSON.stringify({ name: 'vouch-native-scratch', private: true, scripts: { build: 'node-gyp rebuild' } }),
    )
    const t0 = performance.now()
    const r = spawnSync('npm', ['run', '--silent', 'build'], {
      cwd: scratch,
      encoding: 'utf8',
      env: { ...process.env, npm_config_loglevel: 'error' },
    })
    const ms = performance.now() - t0
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0)
    addonPath = join(scratch, 'build', 'Release', 'vouch_tcti.node')
    peercredPath = join(scratch, 'build', 'Release', 'vouch_peercred.node')
    console.log(`native bridge build (npm run build -> node-gyp rebuild): ${(ms / 1000).toFixed(1)} s`)
  }, 180_000)

  it('the fresh addon answers like the pure socket over the swtpm: TCTI', async () => {
    expect(addonPath).toBeDefined()
    const mod = createRequire(import.meta.url)(addonPath) as ConstructorParameters<typeof NativeTctiTransport>[1]
    const run = async (c: TpmClient) => {
      try {
        const srk = await c.run(cmd.createPrimary(TPM_RH.OWNER, cmd.passwordAuth(''), { template: cmd.srkTemplateEcc() }))
        await c.flush(srk.handle)
        const bad = await c.run(cmd.flushContext(0x80ffffff)).then(
          () => 'ok',
          (e: Error) => e.message,
        )
        return {
          srk: Buffer.from(srk.outPublic.raw).toString('hex'),
          name: Buffer.from(srk.name).toString('hex'),
          bad,
          rnd: (await c.run(cmd.getRandom(20))).length,
        }
      } finally {
        await c.close()
      }
    }
    const pure = await run(new TpmClient(new TcpTransport('127.0.0.1', tpm.port)))
    const native = new NativeTctiTransport(tpm.tcti, mod)
    expect(native.description).toMatch(/native libtss2-tctildr/)
    expect(await run(new TpmClient(native))).toEqual(pure)
    expect(pure.bad).toMatch(/^TPM2_FlushContext failed: TPM_RC_VALUE \(parameter 1, /)
  }, 30_000)

  it('the same .node loads and answers under Bun and Deno (N-API is ABI-stable)', async () => {
    expect(addonPath).toBeDefined()
    const script = join(scratch, 'probe.mts')
    await writeFile(
      script,
      [
        `import { loadNativeTcti, NativeTctiTransport } from ${JSON.stringify(join(ROOT, 'agent/tpm/native.ts'))}`,
        `import { TpmClient } from ${JSON.stringify(join(ROOT, 'agent/tpm/client.ts'))}`,
        `import * as cmd from ${JSON.stringify(join(ROOT, 'core/tpm2/command/index.ts'))}`,
        `const mod = loadNativeTcti(${JSON.stringify(addonPath)})`,
        'if (!mod) throw new Error("addon did not load")',
        `const c = new TpmClient(new NativeTctiTransport(${JSON.stringify(tpm.tcti)}, mod))`,
        'const r = await c.run(cmd.getRandom(24))',
        'await c.close()',
        'console.log(JSON.stringify({ n: r.length, runtime: typeof Bun !== "undefined" ? "bun" : typeof Deno !== "undefined" ? "deno" : "node" }))',
      ].join('\n'),
    )
    for (const [runtime, args] of [
      ['bun', ['bun', script]],
      ['deno', ['deno', 'run', '-A', script]],
    ] as const) {
      const r = spawnSync('npx', args, { cwd: ROOT, encoding: 'utf8' })
      expect(r.status, `${runtime}: ${r.stderr}`).toBe(0)
      expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ n: 24, runtime })
    }
  }, 60_000)

  it('close() during an in-flight command waits for it; a second command in flight or after close is refused', async () => {
    const mod = createRequire(import.meta.url)(addonPath) as {
      Tcti: new (conf: string) => { transmit(c: Uint8Array): Promise<Uint8Array>; close(): void }
    }
    const getRandom = cmd.getRandom(16)
    for (let i = 0; i < 50; i++) {
      const t = new mod.Tcti(tpm.tcti)
      const p = t.transmit(getRandom.bytes)
      expect(() => t.transmit(getRandom.bytes)).toThrow(/already in flight/)
      t.close() // must not free the TCTI context under the worker thread
      expect(getRandom.decode(await p)).toHaveLength(16)
      expect(() => t.transmit(getRandom.bytes)).toThrow(/TCTI is closed/)
    }
  }, 30_000)

  it('the same build makes the peer-credential addon (no libtss2 in it): SO_PEERCRED of a real unix socket', async () => {
    const dir = await mkdtemp(join(scratch, 'sock-'))
    const path = join(dir, 's.sock')
    const accepted = new Promise<Socket>((resolveSocket) => {
      const server = createServer((s) => {
        resolveSocket(s)
        server.close()
      })
      server.listen(path)
    })
    await new Promise((r) => setTimeout(r, 20))
    const client = connect(path)
    const s = await accepted
    const mod = loadPeerCredAddon(peercredPath)
    expect(mod).toBeDefined()
    const creds = mod!.peerCredentials((s as unknown as { _handle: { fd: number } })._handle.fd)
    expect(creds).toMatchObject({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() })
    mod!.closeFd(creds.pidfd)
    s.destroy()
    client.destroy()
    const ldd = spawnSync('ldd', [peercredPath], { encoding: 'utf8' })
    expect(ldd.stdout).not.toMatch(/tss2/)
  })

  it('a bad TCTI string is a clear error, not a crash', () => {
    const mod = createRequire(import.meta.url)(addonPath) as { Tcti: new (conf: string) => unknown }
    expect(() => new mod.Tcti('nosuchtcti:foo')).toThrow(/Tss2_TctiLdr_Initialize\("nosuchtcti:foo"\) failed/)
  })
})

describe('the install step never fails', () => {
  it('without pkg-config / libtss2 it exits 0 and says the pure transports are used', () => {
    const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-native.mjs')], {
      encoding: 'utf8',
      env: { ...process.env, PATH: '/nonexistent' },
    })
    expect(r.status).toBe(0)
    expect(`${r.stdout}${r.stderr}`).toMatch(/pure transports/)
  })
})
