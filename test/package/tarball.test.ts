/**
 * Proof from the packed tarball: `npm pack` once, `npm install <tgz>` into a fresh project outside
 * the repository, and the same small program (test/package/program.mjs: a real GCE vTPM quote, a
 * real STMicro EK chain, an X.509-SVID, a JWT-SVID, each also tampered and refused with its code)
 * run on Node 20, Node 22, Bun, Deno, workerd (Miniflare, WASM kernel) and headless Chromium,
 * importing only 'vouch' and its subpaths. Then the examples/, a TypeScript consumer under
 * nodenext and bundler resolution without DOM, publint and are-the-types-wrong.
 */
import { execFileSync } from 'node:child_process'
import { createHmac, X509Certificate } from 'node:crypto'
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type Server as HttpServer } from 'node:http'
import { tmpdir } from 'node:os'
import { extname, join } from 'node:path'
import { Miniflare } from 'miniflare'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startWorkloadApi, type WorkloadApi } from '../../agent/workload/api/index.ts'
import { makeSvidKeyProofMessage } from '../../core/attestation/svid-key.ts'
import { toPem } from '../../core/bytes/pem.ts'
import { makeCertificate } from '../../core/x509/make-certificate.ts'
import { evidenceSet } from '../core/attestation/live-agent.ts'
import { ekPolicy } from '../core/attestation/fixtures.ts'
import { entry, MemorySource } from '../support/workload-source.ts'
import { startEkAgent } from './ek-agent.ts'
import { BIN, bundle, exec, makeProject, type Packed, packOnce, startServer, writeFiles } from './project.ts'
import { makeProgramVectors, type ProgramVectors, ROOT } from './vectors.ts'

const work = mkdtempSync(join(tmpdir(), 'vouch-tarball-'))
let packed: Packed
let app: string
let vectors: ProgramVectors
let vectorsPath: string

beforeAll(async () => {
  // dist/ must be the build of these sources: rebuild when a source is newer (no-op when fresh)
  execFileSync(process.execPath, [join(ROOT, 'scripts/build.mjs'), '--if-stale'], { cwd: ROOT, stdio: 'ignore' })
  ;[packed, vectors] = await Promise.all([packOnce(work), makeProgramVectors()])
  app = await makeProject(packed.tarball)
  vectorsPath = join(app, 'vectors.json')
  writeFileSync(vectorsPath, JSON.stringify(vectors))
}, 120_000)

afterAll(() => {
  rmSync(work, { recursive: true, force: true })
  if (app) rmSync(app, { recursive: true, force: true })
})

type Results = Record<string, unknown>
interface AttestReply {
  sessionId: string
  challenges: Record<string, Record<string, unknown>>
  ok?: boolean
  policy?: string
  spiffeId?: string
  code?: string
}

/** what every runtime must answer: all four verified, all four tampered ones refused by code */
function expectProgramPassed(r: Results, kernels: 'wasm' | 'js') {
  expect(r).toEqual({
    kernels,
    fallback: { kernels: 'js', reported: true, told: 1 },
    quote: 'ok 24 PCRs',
    ekChain: 'ok 4 certificates',
    x509Svid: `ok ${vectors.x509Svid.id}`,
    jwtSvid: `ok ${vectors.jwtSvid.id}`,
    refused: {
      quote: 'ERR_QUOTE_NONCE_MISMATCH',
      ekChain: 'ERR_X509_SIGNATURE_INVALID',
      x509Svid: 'ERR_SVID_UNTRUSTED',
      jwtSvid: 'ERR_JWT_SVID_SIGNATURE',
    },
  })
}

async function runProgramWith(cmd: string, args: string[]): Promise<Results> {
  const { stdout } = await exec(cmd, [...args, 'run-program.mjs', vectorsPath], {
    cwd: app,
    timeout: 60_000,
    env: { ...process.env, DENO_NO_UPDATE_CHECK: '1', NO_COLOR: '1' },
  })
  return JSON.parse(stdout.trim().split('\n').pop()!) as Results
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile())
}

function duBytes(dir: string): number {
  return filesUnder(dir).reduce((n, f) => n + statSync(f).size, 0)
}

const figure = (name: string, value: string) => console.log(`[tarball] ${name}: ${value}`)

// every group and test below runs at once: they are child processes, servers and a browser
describe.concurrent('vouch from its tarball', () => {
  describe.concurrent('the packed tarball', () => {
    it('is small, has a LICENSE and no tests, private keys or install scripts', () => {
      expect(packed.size).toBeLessThanOrEqual(500_000)
      expect(packed.files).toContain('LICENSE')
      expect(packed.files).toContain('package.json')
      expect(packed.files.filter((f) => /^(test|bench|examples|scripts\/(?!build-native)|\.)/.test(f))).toEqual([])
      const unpacked = join(app, 'node_modules/vouch')
      const installed = filesUnder(unpacked)
      expect(installed.length).toBe(packed.files.length)
      // no key material: no PEM private key block in any file (code that labels PEM blocks it writes is fine)
      for (const f of installed) expect(/BEGIN [A-Z0-9 ]*PRIVATE KEY/.test(readFileSync(f, 'latin1')), f).toBe(false)
      expect(installed.filter((f) => /\.(key|p8|p12|pfx|priv)$/.test(f))).toEqual([])
      const pkg = JSON.parse(readFileSync(join(unpacked, 'package.json'), 'utf8')) as { scripts?: Record<string, string> }
      for (const hook of ['preinstall', 'install', 'postinstall']) expect(pkg.scripts?.[hook]).toBeUndefined()
      figure('tarball', `${packed.size} bytes packed, ${packed.unpackedSize} unpacked, ${packed.files.length} files`)
    })

    it('installs few packages', async () => {
      const { stdout } = await exec(BIN.npm, ['ls', '--all', '--omit=dev', '--parseable'], { cwd: app })
      const packages = stdout.trim().split('\n').slice(1) // the first line is the project itself
      expect(packages.length).toBeLessThanOrEqual(8)
      const mb = duBytes(join(app, 'node_modules')) / 1e6
      figure('npm install vouch.tgz', `${packages.length} packages, ${mb.toFixed(1)} MB in node_modules`)
    })
  })

  describe.concurrent('the program from the installed package', () => {
    it('Node 20', async () => {
      expect((await exec(BIN.node20, ['--version'])).stdout).toMatch(/^v20\./)
      expectProgramPassed(await runProgramWith(BIN.node20, []), 'wasm')
    })

    it('Node 22', async () => {
      expect((await exec(BIN.node22, ['--version'])).stdout).toMatch(/^v22\./)
      expectProgramPassed(await runProgramWith(BIN.node22, []), 'wasm')
    })

    it('Bun (its node:crypto platform with the JS kernels)', async () => {
      expectProgramPassed(await runProgramWith(BIN.bun, []), 'js')
    })

    it('Deno, through npm:vouch from node_modules (nodeModulesDir: manual)', async () => {
      expectProgramPassed(await runProgramWith(BIN.deno, ['run', '--quiet', '--allow-read', '--allow-env']), 'wasm')
    })
  })

  describe.concurrent("vouch/workload from the installed package, against the agent's Workload API socket", () => {
    const ID = 'spiffe://example.org/web'
    let dir: string
    let source: MemorySource
    let api: WorkloadApi
    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'vouch-tarball-wl-'))
      chmodSync(dir, 0o755)
      source = await MemorySource.create({ entries: [entry('web', ID, [`unix:uid:${process.getuid!()}`])] })
      api = await startWorkloadApi({ socketPath: join(dir, 'agent.sock'), source })
      writeFiles(app, {
        'workload-client.mjs': [
          "import { createJwtSource, createX509Source } from 'vouch/workload'",
          'const address = process.argv[2]',
          'const x509 = await createX509Source({ address })',
          'const jwt = await createJwtSource({ address })',
          "const token = await jwt.fetchJwtSvid({ audience: 'spiffe://example.org/db' })",
          "const valid = await jwt.validateJwtSvid(token.token, 'spiffe://example.org/db')",
          'let refused',
          "try { await jwt.validateJwtSvid(token.token.slice(0, -4) + 'AAAA', 'spiffe://example.org/db') } catch (e) { refused = e.code }",
          'console.log(JSON.stringify({ x509: x509.getX509Svid().id.toString(), chain: x509.getX509Svid().verifiedChain.length, jwt: valid.id.toString(), refused }))',
          'x509.close()',
          'jwt.close()',
        ].join('\n'),
      })
    })
    afterAll(async () => {
      await api?.close()
      if (dir) rmSync(dir, { recursive: true, force: true })
    })

    for (const [name, bin] of [
      ['Node 20', () => BIN.node20],
      ['Node 22', () => BIN.node22],
      ['Bun', () => BIN.bun],
    ] as const) {
      it(`${name}: an X.509-SVID and a JWT-SVID fetched and verified, a forged token refused`, async () => {
        const { stdout } = await exec(bin(), ['workload-client.mjs', `unix://${api.socketPath}`], { cwd: app, timeout: 60_000 })
        expect(JSON.parse(stdout.trim().split('\n').pop()!)).toEqual({ x509: ID, chain: 2, jwt: ID, refused: 'ERR_JWT_SVID_SIGNATURE' })
      })
    }
  })

  describe.concurrent('workerd (Miniflare): a bundled Worker with the precompiled WASM kernels', () => {
    async function worker(entry: string, bindings: Record<string, string> = {}) {
      const b = await bundle(app, entry, 'workerd')
      const kernels = readFileSync(join(app, 'node_modules/vouch/wasm/kernels.wasm'))
      const dir = join(app, 'workerd', entry.replace(/\W/g, '_'))
      const mf = new Miniflare({
        modulesRoot: dir,
        modules: [
          { type: 'ESModule', path: join(dir, 'worker.mjs'), contents: b.code },
          { type: 'CompiledWasm', path: join(dir, 'kernels.wasm'), contents: kernels },
        ],
        compatibilityDate: '2026-01-01',
        bindings,
      })
      return { mf, bundle: b }
    }

    it('runs the program', async () => {
      writeFiles(app, {
        'worker-program.mjs': [
          "import kernels from 'vouch/wasm/kernels.wasm'",
          "import { createEdgePlatform } from 'vouch/edge'",
          "import { runProgram } from './program.mjs'",
          'export default { async fetch(req) { const platform = await createEdgePlatform({ wasm: kernels }); return Response.json(await runProgram(await req.json(), platform)) } }',
        ].join('\n'),
      })
      const { mf } = await worker('worker-program.mjs')
      try {
        const res = await mf.dispatchFetch('http://worker/', { method: 'POST', body: JSON.stringify(vectors) })
        expectProgramPassed((await res.json()) as Results, 'wasm')
      } finally {
        await mf.dispose()
      }
    })

    it('examples/cloudflare-worker: a JWT-SVID from the Authorization header against a bundle', async () => {
      const { mf, bundle: b } = await worker('examples/cloudflare-worker/src/index.ts', {
        TRUST_DOMAIN: vectors.jwtSvid.trustDomain,
        AUDIENCE: vectors.jwtSvid.audience,
        SPIFFE_BUNDLE: vectors.jwtSvid.bundleJson,
      })
      figure('Worker example bundle', `${b.bytes} bytes, ${b.gzipBytes} gzip (+ kernels.wasm)`)
      try {
        const call = async (authorization?: string) => {
          const res = await mf.dispatchFetch('http://worker/', authorization ? { headers: { authorization } } : {})
          return { status: res.status, body: (await res.json()) as Record<string, unknown> }
        }
        expect(await call(`Bearer ${vectors.jwtSvid.token}`)).toEqual({
          status: 200,
          body: { spiffeId: vectors.jwtSvid.id, kernels: { kernels: 'wasm' } },
        })
        const forged =
          vectors.jwtSvid.token.slice(0, -10) + (vectors.jwtSvid.token.at(-10) === 'A' ? 'B' : 'A') + vectors.jwtSvid.token.slice(-9)
        expect(await call(`Bearer ${forged}`)).toMatchObject({ status: 401, body: { code: 'ERR_JWT_SVID_SIGNATURE' } })
        expect(await call()).toMatchObject({ status: 401, body: { code: 'ERR_NO_TOKEN' } })
      } finally {
        await mf.dispose()
      }
    })
  })

  it('examples/cloudflare-worker-attest: start and answer in workerd with a live swtpm (tpm_ek), an X.509-SVID from the CA bindings, the replay refused by the Durable Object', async () => {
    const b = await bundle(app, 'examples/cloudflare-worker-attest/src/index.ts', 'workerd')
    figure('Worker attestation example bundle', `${b.bytes} bytes, ${b.gzipBytes} gzip (+ kernels.wasm)`)
    const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
    const caDer = await makeCertificate(
      {
        subject: [{ type: 'CN', value: 'package.test worker CA' }],
        notBefore: Date.now() - 60_000,
        notAfter: Date.now() + 86_400_000,
        publicKey: new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey)),
        basicConstraints: { cA: true },
        keyUsage: ['keyCertSign', 'cRLSign'],
      },
      pair.privateKey,
    )
    const ekCa = ['ek-ca/swtpm-localca-rootca-cert.pem', 'ek-ca/issuercert.pem']
      .map((p) => readFileSync(join(ROOT, 'test/vectors/swtpm', p), 'utf8'))
      .join('')
    const dir = join(app, 'workerd', 'attest')
    const mf = new Miniflare({
      modulesRoot: dir,
      modules: [
        { type: 'ESModule', path: join(dir, 'worker.mjs'), contents: b.code },
        {
          type: 'CompiledWasm',
          path: join(dir, 'kernels.wasm'),
          contents: readFileSync(join(app, 'node_modules/vouch/wasm/kernels.wasm')),
        },
      ],
      compatibilityDate: '2026-01-01',
      durableObjects: { USE_ONCE: { className: 'UseOnceRecords', useSQLite: true } },
      bindings: {
        TRUST_DOMAIN: 'package.test',
        POLICY: JSON.stringify({ section: 'AgentAttestation', schema: 'v1', spec: { policies: [ekPolicy({ endorsementCACerts: ekCa })] } }),
        CA_CERT: toPem('CERTIFICATE', caDer),
        CA_KEY: toPem('PRIVATE KEY', new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey))),
        SESSION_KEYS: JSON.stringify([{ id: 'k1', key: Buffer.alloc(32, 9).toString('base64'), seal: true }]),
      },
    })
    const agent = await startEkAgent()
    try {
      const post = async (path: string, body: unknown) => {
        const res = await mf.dispatchFetch(`http://worker${path}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(body),
        })
        return { status: res.status, body: (await res.json()) as AttestReply & { svid: string[] } }
      }
      const started = await post('/v1/attest', { providedMethods: ['tpm_ek'], evidence: { tpm_ek: evidenceSet('tpm-a-ek') } })
      expect(started.status, JSON.stringify(started.body)).toBe(200)
      const sessionId = started.body.sessionId
      const key = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])) as CryptoKeyPair
      const spki = new Uint8Array(await crypto.subtle.exportKey('spki', key.publicKey))
      const binding = new Uint8Array(await crypto.subtle.digest('SHA-256', spki))
      const keyProof = await crypto.subtle.sign(
        { name: 'ECDSA', hash: 'SHA-256' },
        key.privateKey,
        makeSvidKeyProofMessage(sessionId, binding),
      )
      // the activation proof binds the key: HMAC-SHA256(activated secret, binding) (docs/protocol.md "Key binding")
      const secret = Buffer.from((await agent.answer(started.body.challenges.tpm_ek!)).CredActivation, 'base64')
      const body = {
        answers: { tpm_ek: { CredActivation: createHmac('sha256', secret).update(binding).digest('base64') } },
        publicKey: Buffer.from(spki).toString('base64'),
        keyProof: Buffer.from(keyProof).toString('base64'),
      }
      const answered = await post(`/v1/attest/${sessionId}/answer`, body)
      expect(answered.status, JSON.stringify(answered.body)).toBe(200)
      expect(answered.body).toMatchObject({ policy: 'tpm_ek_policy', spiffeId: expect.stringMatching(/^spiffe:\/\/package\.test\//) })
      const leaf = new X509Certificate(answered.body.svid[0]!)
      expect(leaf.verify(new X509Certificate(toPem('CERTIFICATE', caDer)).publicKey)).toBe(true)
      expect(leaf.subjectAltName).toBe(`URI:${answered.body.spiffeId}`)
      expect(await post(`/v1/attest/${sessionId}/answer`, body)).toMatchObject({ status: 404, body: { code: 'ERR_SESSION_UNKNOWN' } })
    } finally {
      await Promise.all([mf.dispose(), agent.stop()])
    }
  })

  describe.concurrent('headless Chromium: the program and examples/browser, bundled by esbuild from the installed package', () => {
    const CHROMIUM = '/usr/bin/chromium'
    let http: HttpServer
    let origin: string

    beforeAll(async () => {
      const site = join(app, 'site')
      const program = await bundle(
        app,
        writeEntry('page-program.mjs', [
          "import { createEdgePlatform } from 'vouch/edge'",
          "import { runProgram } from './program.mjs'",
          "const v = await (await fetch('./vectors.json')).json()",
          'document.body.dataset.result = JSON.stringify(await runProgram(v, await createEdgePlatform()))',
        ]),
        'browser',
      )
      const example = await bundle(app, 'examples/browser/main.ts', 'browser')
      figure('browser example bundle', `${example.bytes} bytes, ${example.gzipBytes} gzip`)
      writeFiles(site, {
        'program.html': '<!doctype html><html><body><script type="module" src="./program.js"></script></body></html>',
        'program.js': program.code,
        'vectors.json': JSON.stringify(vectors),
      })
      writeFiles(join(site, 'example'), {
        'index.html': readFileSync(join(app, 'examples/browser/index.html')),
        'main.js': example.code,
      })
      const types: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json' }
      http = createServer((req, res) => {
        const path = join(site, new URL(req.url ?? '/', 'http://x').pathname.replace(/\/$/, '/index.html'))
        if (!path.startsWith(site) || !existsSync(path)) return void res.writeHead(404).end()
        res.writeHead(200, { 'content-type': types[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(path))
      })
      await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve))
      origin = `http://127.0.0.1:${(http.address() as { port: number }).port}`
    })

    afterAll(async () => {
      await new Promise((resolve) => http?.close(resolve))
    })

    function writeEntry(name: string, lines: string[]): string {
      writeFileSync(join(app, name), lines.join('\n'))
      return name
    }

    it('runs the program and the example page', async () => {
      expect(existsSync(CHROMIUM), 'chromium is installed by scripts/ensure-system.sh').toBe(true)
      const browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      })
      try {
        const page = await browser.newPage()
        const errors: string[] = []
        page.on('pageerror', (e) => errors.push(e.message))
        await page.goto(`${origin}/program.html`)
        await page.waitForSelector('body[data-result]', { state: 'attached', timeout: 30_000 })
        expect(errors).toEqual([])
        expectProgramPassed(JSON.parse((await page.getAttribute('body', 'data-result'))!) as Results, 'wasm')

        // the example page, driven as a user would
        await page.goto(`${origin}/example/`)
        await page.waitForSelector('body[data-ready]', { state: 'attached', timeout: 30_000 })
        expect(await page.textContent('#kernels')).toBe('kernels: wasm')
        await page.fill('#trust-domain', vectors.x509Svid.trustDomain)
        await page.fill('#svid', vectors.x509Svid.chainPem)
        await page.fill('#bundle', vectors.x509Svid.bundleJson)
        await page.click('#verify')
        await page.waitForSelector('#result[data-state="ok"], #result[data-state="refused"]', { state: 'attached' })
        expect(await page.textContent('#result')).toBe(`verified: ${vectors.x509Svid.id}`)
        await page.fill('#bundle', vectors.x509Svid.otherBundleJson)
        await page.click('#verify')
        await page.waitForSelector('#result[data-state="refused"]', { state: 'attached' })
        expect(await page.textContent('#result')).toMatch(/^refused: ERR_SVID_UNTRUSTED: /)
        expect(errors).toEqual([])
      } finally {
        await browser.close()
      }
    })
  })

  describe.concurrent('the server examples', () => {
    it('examples/deno-server: Deno.serve checking an X.509-SVID', async () => {
      writeFileSync(join(app, 'examples/deno-server/bundle.json'), vectors.x509Svid.bundleJson)
      const server = await startServer(BIN.deno, ['run', '--quiet', '--allow-net', '--allow-env', '--allow-read', 'main.ts'], {
        cwd: join(app, 'examples/deno-server'),
        env: { PORT: '0', TRUST_DOMAIN: vectors.x509Svid.trustDomain, SPIFFE_BUNDLE_FILE: 'bundle.json' },
      })
      try {
        const ok = await fetch(`${server.url}/whoami`, { method: 'POST', body: vectors.x509Svid.chainPem })
        expect([ok.status, await ok.json()]).toEqual([200, { spiffeId: vectors.x509Svid.id }])
        const bad = await fetch(`${server.url}/whoami`, {
          method: 'POST',
          body: vectors.x509Svid.chainPem.replace(/[A-Z](?=[^\n]*\n-----END CERTIFICATE)/, 'x'),
        })
        expect(bad.status).toBe(403)
        expect(((await bad.json()) as { code: string }).code).toMatch(/^ERR_/)
      } finally {
        await server.stop()
      }
    })

    it('examples/bun-server: the attestation verifier, start and answer with a live swtpm (tpm_ek)', async () => {
      const ekCa = ['ek-ca/swtpm-localca-rootca-cert.pem', 'ek-ca/issuercert.pem']
        .map((p) => readFileSync(join(ROOT, 'test/vectors/swtpm', p), 'utf8'))
        .join('')
      writeFileSync(
        join(app, 'examples/bun-server/policy.json'),
        JSON.stringify({ section: 'AgentAttestation', schema: 'v1', spec: { policies: [ekPolicy({ endorsementCACerts: ekCa })] } }),
      )
      const [server, agent] = await Promise.all([
        startServer(BIN.bun, ['server.ts'], {
          cwd: join(app, 'examples/bun-server'),
          env: { PORT: '0', POLICY_FILE: 'policy.json', TRUST_DOMAIN: 'package.test' },
        }),
        startEkAgent(),
      ])
      try {
        const evidence = evidenceSet('tpm-a-ek') as Record<string, string>
        const post = async (path: string, body: unknown) => {
          const res = await fetch(`${server.url}${path}`, { method: 'POST', body: JSON.stringify(body) })
          return { status: res.status, body: (await res.json()) as AttestReply }
        }
        const started = await post('/attest/start', { providedMethods: ['tpm_ek'], evidence: { tpm_ek: evidence } })
        expect(started.status).toBe(200)
        expect(started.body.sessionId).toMatch(/^[A-Za-z0-9_-]{32}$/)
        expect(Object.keys(started.body.challenges)).toEqual(['tpm_ek'])
        const answer = await agent.answer(started.body.challenges.tpm_ek!)
        const verdict = await post('/attest/answer', { sessionId: started.body.sessionId, answers: { tpm_ek: answer } })
        expect(verdict.status).toBe(200)
        expect(verdict.body).toMatchObject({ ok: true, policy: 'tpm_ek_policy' })
        expect(verdict.body.spiffeId).toMatch(/^spiffe:\/\/package\.test\//)
        // the session is gone once answered: a replay is refused with a stable code
        const replay = await post('/attest/answer', { sessionId: started.body.sessionId, answers: { tpm_ek: answer } })
        expect(replay.status).toBe(403)
        expect(replay.body.code).toMatch(/^ERR_/)
      } finally {
        await Promise.all([server.stop(), agent.stop()])
      }
    })
  })

  describe.concurrent('what tools say about the tarball', () => {
    for (const [name, options] of [
      ['nodenext', { module: 'nodenext', moduleResolution: 'nodenext' }],
      ['bundler', { module: 'preserve', moduleResolution: 'bundler' }],
    ] as const) {
      it(`a TypeScript consumer type-checks: ${name}, strict, lib ES2022 without DOM, skipLibCheck false`, async () => {
        const dir = join(app, `ts-${name}`)
        writeFiles(dir, {
          'consumer.ts': CONSUMER,
          'tsconfig.json': JSON.stringify({
            compilerOptions: {
              ...options,
              target: 'ES2022',
              strict: true,
              resolveJsonModule: true,
              lib: ['ES2022'],
              types: [],
              skipLibCheck: false,
              noEmit: true,
            },
            files: ['consumer.ts'],
          }),
        })
        const r = await exec(process.execPath, [BIN.tsc, '-p', join(dir, 'tsconfig.json')], { cwd: dir }).catch(
          (e: { stdout: string }) => e,
        )
        expect(r.stdout).toBe('')
      })
    }

    it('the Worker and browser examples type-check against the installed package (strict, DOM lib), the Deno server under deno check', async () => {
      const dir = join(app, 'examples')
      writeFiles(dir, {
        'tsconfig.json': JSON.stringify({
          compilerOptions: {
            module: 'preserve',
            moduleResolution: 'bundler',
            target: 'ES2022',
            strict: true,
            lib: ['ES2022', 'DOM'],
            types: [],
            noEmit: true,
          },
          files: ['cloudflare-worker/src/index.ts', 'cloudflare-worker-attest/src/index.ts', 'browser/main.ts'],
        }),
      })
      const [tsc, deno] = await Promise.all([
        exec(process.execPath, [BIN.tsc, '-p', join(dir, 'tsconfig.json')], { cwd: dir }).catch((e: { stdout: string }) => e),
        exec(BIN.deno, ['check', '--quiet', 'main.ts'], { cwd: join(dir, 'deno-server'), env: { ...process.env, NO_COLOR: '1' } }).catch(
          (e: { stderr: string }) => ({ stdout: '', stderr: e.stderr }),
        ),
      ])
      expect(tsc.stdout).toBe('')
      expect(deno.stderr).toBe('')
    })

    it('publint: nothing to report', async () => {
      const { stdout } = await exec(process.execPath, [join(ROOT, 'node_modules/publint/src/cli.js'), 'run', packed.tarball, '--strict'], {
        cwd: app,
      })
      expect(stdout).toMatch(/All good!/)
    })

    it('are-the-types-wrong (ESM-only profile): no problems', async () => {
      const r = await exec(
        process.execPath,
        [join(ROOT, 'node_modules/@arethetypeswrong/cli/dist/index.js'), packed.tarball, '--profile', 'esm-only', '--format', 'json'],
        { cwd: app, maxBuffer: 16 << 20 },
      ).catch((e: { stdout: string }) => e)
      const report = JSON.parse(r.stdout) as { analysis: { problems: { kind: string; resolutionKind: string; entrypoint: string }[] } }
      const ignored = new Set(['node10', 'node16-cjs'])
      expect(report.analysis.problems.filter((p) => !ignored.has(p.resolutionKind))).toEqual([])
    })
  })
})

/** Every entry point, a few values and types from each, used the way a consumer would. */
const CONSUMER = `
import { BundleSet, isVerifyError, verifyChain, verifyJwtSvid, verifyQuote, verifyX509Svid, createAttestationVerifier, parsePolicyDocument, type Platform, type Verdict } from 'vouch'
import { parseCertificate, type Certificate } from 'vouch/x509'
import { parseTpmsAttest, parseTpmtPublic, parseTpmtSignature, type TPMT_PUBLIC } from 'vouch/tpm2'
import { makeCredential } from 'vouch/credential'
import { parseSpiffeBundle, type JwtSvid } from 'vouch/svid'
import { createMemorySessionStore } from 'vouch/attestation'
import { fromBase64, toHex } from 'vouch/bytes'
import { createNodePlatform, loadNodePlatform } from 'vouch/node'
import { createBunPlatform } from 'vouch/bun'
import { createDenoPlatform, loadDenoPlatform } from 'vouch/deno'
import { createEdgePlatform, type EdgePlatform, type KernelReport } from 'vouch/edge'
import kernels from 'vouch/wasm/kernels.wasm'
import pkg from 'vouch/package.json' with { type: 'json' }

export async function main(token: string, bundleJson: string): Promise<string> {
  const platform: EdgePlatform = await createEdgePlatform({ wasm: kernels, onKernelFallback: () => {} })
  const report: KernelReport = platform.kernelReport
  const others: Platform[] = [createNodePlatform(), await loadNodePlatform(), createBunPlatform(), createDenoPlatform(), await loadDenoPlatform()]
  const bundles = new BundleSet([parseSpiffeBundle('example.org', bundleJson)])
  try {
    const svid: JwtSvid = await verifyJwtSvid(token, bundles, { audience: 'api', platform })
    return svid.id.toString() + report.kernels + others.length + pkg.version
  } catch (e) {
    if (isVerifyError(e)) return e.code
    throw e
  }
}
export const used = [verifyChain, verifyQuote, verifyX509Svid, createAttestationVerifier, parsePolicyDocument, parseCertificate,
  parseTpmsAttest, parseTpmtPublic, parseTpmtSignature, makeCredential, createMemorySessionStore, fromBase64, toHex]
export type Used = [Verdict, Certificate, TPMT_PUBLIC]
`
