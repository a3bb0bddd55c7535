/**
 * examples/cloudflare-worker-attest in workerd (Miniflare, a SQLite Durable Object for the use-once
 * records), bundled by esbuild the way wrangler bundles it, with `vouch` resolved through the
 * package's `exports` (to the sources). A live swtpm agent (tpm-a, RSA DevID) attests over HTTP:
 * the X.509-SVID verifies against the bundle the Worker returns; a replayed answer, one of two
 * simultaneous answers and a tampered sealed session are "unknown session ID". The CLI agent
 * (`vouch agent --once --insecure-http`, tpm_ek on a fresh swtpm) attests too. Refusals keep their
 * codes (ERR_EK_UNTRUSTED, ERR_POLICY_DENIED); bodies are bounded. Redeployed with rotated
 * SESSION_KEYS the Worker still answers a session sealed with the old key, and refuses it (410) once
 * that key is retired; a wrong binding is ERR_INTERNAL. The Durable Object itself: 40 claims of one
 * id at once, one wins; a record past its expiry + grace is deleted by the alarm.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { build, type Plugin } from 'esbuild'
import { Miniflare, type MiniflareOptions } from 'miniflare'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { main } from '../../cli/main.ts'
import { toPem } from '../../core/bytes/pem.ts'
import { NO_POLICY_AUTHORIZES, SESSION_KEY_RETIRED, UNKNOWN_SESSION } from '../../core/messages.ts'
import { parseX509Bundle } from '../../core/svid/x509-bundle.ts'
import { verifyX509Svid } from '../../core/svid/x509-svid.ts'
import { makeCertificate } from '../../core/x509/make-certificate.ts'
import { evidenceSet, LiveAgent } from '../core/attestation/live-agent.ts'
import { attestOverHttp, post } from '../e2e/http-agent.ts'
import { policyDocument, TEMPLATE, TRUST_DOMAIN } from '../e2e/setup.ts'
import { capture } from '../agent/harness.ts'
import { freePort } from '../support/free-port.ts'
import { startSwtpm, type Swtpm } from '../support/swtpm.ts'

const ROOT = join(import.meta.dirname, '../..')
const EXAMPLE = join(ROOT, 'examples/cloudflare-worker-attest')

/** `vouch` and its subpaths through package.json `exports` (a missing export fails the build), mapped from dist/*.js to the sources */
function vouchFromExports(): Plugin {
  const exports = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }).exports
  return {
    name: 'vouch-exports',
    setup(b) {
      b.onResolve({ filter: /^vouch(\/|$)/ }, (args) => {
        const sub = args.path === 'vouch' ? '.' : `./${args.path.slice('vouch/'.length)}`
        const target = exports[sub] as string | { default: string } | undefined
        if (target === undefined) return { errors: [{ text: `vouch has no export ${sub}` }] }
        // workerd gets the kernels as a precompiled module next to the Worker
        if (sub === './wasm/kernels.wasm') return { path: './kernels.wasm', external: true }
        const file = typeof target === 'string' ? target : target.default
        return { path: join(ROOT, file.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts')) }
      })
    },
  }
}

async function bundleWorker(): Promise<string> {
  const out = await build({
    entryPoints: [join(EXAMPLE, 'src/index.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['module', 'main'],
    write: false,
    logLevel: 'silent',
    plugins: [vouchFromExports()],
  })
  return out.outputFiles[0]!.text
}

/**
 * The Durable Object as wrangler.toml declares it (what an operator deploys): its binding, its
 * class, and a `new_sqlite_classes` migration for that class.
 */
function durableObjectFromConfig(): { binding: string; className: string } {
  const toml = readFileSync(join(EXAMPLE, 'wrangler.toml'), 'utf8')
  const binding = /\[\[durable_objects\.bindings\]\]\s*name = "(\w+)"\s*class_name = "(\w+)"/.exec(toml)
  const sqlite = /new_sqlite_classes = \["(\w+)"\]/.exec(toml)
  if (!binding || !sqlite || sqlite[1] !== binding[2])
    throw new Error('wrangler.toml: no Durable Object binding with a new_sqlite_classes migration')
  return { binding: binding[1]!, className: binding[2]! }
}

/** A P-256 CA: its certificate and PKCS#8 key, PEM. */
async function makeCa(): Promise<{ certPem: string; keyPem: string }> {
  const pair = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
  const now = Date.now()
  const der = await makeCertificate(
    {
      subject: [{ type: 'CN', value: 'vouch worker CA' }],
      notBefore: now - 60_000,
      notAfter: now + 86_400_000,
      publicKey: new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey)),
      basicConstraints: { cA: true },
      keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
      subjectAltName: { uris: [`spiffe://${TRUST_DOMAIN}`] },
    },
    pair.privateKey,
  )
  return {
    certPem: toPem('CERTIFICATE', der),
    keyPem: toPem('PRIVATE KEY', new Uint8Array(await crypto.subtle.exportKey('pkcs8', pair.privateKey))),
  }
}

const ev = evidenceSet('tpm-a-devid-rsa') as Record<string, string>
let agent: LiveAgent
let mf: Miniflare
/** the Worker's Miniflare options (without the port) */
let options: MiniflareOptions & { bindings: Record<string, string> }
let url: string
let ca: { certPem: string; keyPem: string }
let bundleBytes = 0
/** a fresh swtpm (its EK certificate from a local CA) for the CLI agent, attesting with tpm_ek */
let tpm: Swtpm
let dir: string

beforeAll(async () => {
  const [code, made, live, fresh, port, tmp] = await Promise.all([
    bundleWorker(),
    makeCa(),
    LiveAgent.start('tpm-a'),
    startSwtpm({ name: 'worker-attest' }),
    freePort(),
    mkdtemp(join(tmpdir(), 'vouch-worker-attest-')),
  ])
  ca = made
  agent = live
  tpm = fresh
  dir = tmp
  const useOnce = durableObjectFromConfig()
  expect(useOnce).toEqual({ binding: 'USE_ONCE', className: 'UseOnceRecords' })
  const policy = policyDocument() as { spec: { policies: Record<string, unknown>[] } }
  policy.spec.policies.push({
    name: 'tpm_ek_policy',
    spiffeIDTemplate: '/agent/tpm_ek/{{tpm_ek.public_hash}}',
    requiredAttestors: [{ type: 'tpm_ek', config: { endorsementCACerts: tpm.ekCa.rootPem + tpm.ekCa.intermediatePem } }],
  })
  bundleBytes = Buffer.byteLength(code)
  options = {
    host: '127.0.0.1',
    modulesRoot: '/worker',
    modules: [
      { type: 'ESModule', path: '/worker/index.mjs', contents: code },
      { type: 'CompiledWasm', path: '/worker/kernels.wasm', contents: readFileSync(join(ROOT, 'wasm/kernels.wasm')) },
    ],
    compatibilityDate: '2026-01-01',
    durableObjects: { [useOnce.binding]: { className: useOnce.className, useSQLite: true } },
    bindings: {
      TRUST_DOMAIN,
      POLICY: JSON.stringify(policy),
      CA_CERT: ca.certPem,
      CA_KEY: ca.keyPem,
      SESSION_KEYS: JSON.stringify([{ id: 'k1', key: Buffer.alloc(32, 7).toString('base64'), seal: true }]),
    },
  } satisfies MiniflareOptions
  mf = new Miniflare({ ...options, port })
  url = (await mf.ready).toString().replace(/\/$/, '')
}, 60_000)

afterAll(async () => {
  await mf?.dispose()
  await Promise.all([agent?.stop(), tpm?.stop()])
  if (dir) await rm(dir, { recursive: true, force: true })
})

const unknownSession = { status: 404, body: { code: 'ERR_SESSION_UNKNOWN', message: UNKNOWN_SESSION } }

describe('examples/cloudflare-worker-attest in workerd (Miniflare), a live swtpm agent', () => {
  it('attests: the verdict, and an X.509-SVID over the agent key that verifies against the returned bundle', async () => {
    expect(bundleBytes).toBeGreaterThan(0)
    const r = await attestOverHttp(url, agent, ev)
    expect(r.start.status, JSON.stringify(r.start.body)).toBe(200)
    expect((r.sessionId ?? '').length).toBeGreaterThan(64) // sealed: the state travels in the ID
    expect(r.answer?.status, JSON.stringify(r.answer?.body)).toBe(200)
    const body = r.answer!.body as { spiffeId: string; svid: string[]; bundle: string; attributes: Record<string, string>; policy: string }
    const serial = body.attributes['tpm_devid.certificate.serial_number']!
    expect(body.spiffeId).toBe(`spiffe://${TRUST_DOMAIN}${TEMPLATE.replace('{{tpm_devid.certificate.serial_number}}', serial)}`)
    expect(body.policy).toBe('tpm_devid_policy')
    expect(body.bundle).toBe(ca.certPem)
    const verified = await verifyX509Svid(body.svid.join(''), parseX509Bundle(TRUST_DOMAIN, body.bundle))
    expect(verified.id.toString()).toBe(body.spiffeId)
    // checked by OpenSSL too: signed by the CA key, over the key the agent sent
    const leaf = new X509Certificate(body.svid[0]!)
    expect(leaf.verify(new X509Certificate(ca.certPem).publicKey)).toBe(true)
    expect(leaf.publicKey.export({ type: 'spki', format: 'der' })).toEqual(Buffer.from(r.spki))
    expect(leaf.subjectAltName).toBe(`URI:${body.spiffeId}`)
    expect(Date.parse(leaf.validTo) - Date.parse(leaf.validFrom)).toBe(3_600_000 + 10_000)
    // replayed: the use-once record in the Durable Object refuses it
    expect(await post(`${url}/v1/attest/${r.sessionId}/answer`, r.answerBody)).toEqual(unknownSession)
  })

  it('two answers at the same moment: exactly one SVID, the other unknown session ID', async () => {
    // the agent's answer, held back and then sent twice at once
    const { sessionId, answerBody } = await heldAnswer()
    const results = await Promise.all([1, 2].map(() => post(`${url}/v1/attest/${sessionId}/answer`, answerBody)))
    expect(results.map((r) => r.status).sort()).toEqual([200, 404])
    expect(results.find((r) => r.status === 404)).toEqual(unknownSession)
  })

  it('a tampered sealed session is unknown session ID, and does not burn the genuine one', async () => {
    const { sessionId, answerBody } = await heldAnswer()
    for (const at of [3, 40, Math.floor(sessionId.length / 2), sessionId.length - 5]) {
      const c = sessionId[at] === 'A' ? 'B' : 'A'
      const tampered = sessionId.slice(0, at) + c + sessionId.slice(at + 1)
      expect(await post(`${url}/v1/attest/${tampered}/answer`, answerBody)).toEqual(unknownSession)
    }
    expect((await post(`${url}/v1/attest/${sessionId}/answer`, answerBody)).status).toBe(200)
  })

  it('`vouch agent --once --insecure-http` (tpm_ek, a fresh swtpm) attests against the Worker and writes an SVID that verifies', async () => {
    const svidDir = join(dir, 'svid')
    const config = join(dir, 'agent.yaml')
    await writeFile(join(dir, 'bundle.pem'), ca.certPem)
    await writeFile(
      config,
      stringify({
        agent: { server: url, tpm: tpm.tcti, svidDir, trustBundlePath: join(dir, 'bundle.pem'), attestors: [{ type: 'tpm_ek' }] },
      }),
    )
    const io = capture()
    expect(await main(['agent', '--config', config, '--once', '--insecure-http'], io), io.errs.join('\n')).toBe(0)
    const svid = await readFile(join(svidDir, 'svid.pem'), 'utf8')
    const verified = await verifyX509Svid(svid, parseX509Bundle(TRUST_DOMAIN, await readFile(join(svidDir, 'bundle.pem'), 'utf8')))
    expect(verified.id.toString()).toMatch(new RegExp(`^spiffe://${TRUST_DOMAIN}/agent/tpm_ek/[0-9a-f]{64}$`))
  }, 30_000)

  it('policy refusals keep their stable codes: an EK outside every CA, a method no policy takes; other routes ERR_ROUTE_NOT_FOUND', async () => {
    // tpm-a's EK certificate is from the fixture EK CA, which the tpm_ek policy does not trust
    const ek = await post(`${url}/v1/attest`, {
      providedMethods: ['tpm_ek'],
      evidence: { tpm_ek: { EKCert: ev.EKCert, EKPub: ev.EKPub, AKPub: ev.AKPub } },
    })
    expect(ek.status).toBe(401)
    expect(ek.body.code).toBe('ERR_EK_UNTRUSTED')
    const r = await post(`${url}/v1/attest`, { providedMethods: ['x509pop'], evidence: {} })
    expect(r).toEqual({ status: 403, body: { code: 'ERR_POLICY_DENIED', message: NO_POLICY_AUTHORIZES } })
    const bad = await post(`${url}/v1/attest`, { providedMethods: 'tpm_devid', evidence: {} })
    expect(bad).toMatchObject({ status: 400, body: { code: 'ERR_EVIDENCE_MALFORMED' } })
    // bounded bodies: a declared length past 256 KiB, and a chunked body that runs past it
    const big = JSON.stringify({ providedMethods: ['tpm_devid'], evidence: { pad: 'x'.repeat(300_000) } })
    expect(await post(`${url}/v1/attest`, JSON.parse(big))).toMatchObject({ status: 413, body: { code: 'ERR_INPUT_TOO_LARGE' } })
    const chunked = await fetch(`${url}/v1/attest`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: new Blob([big]).stream(),
      duplex: 'half',
    } as RequestInit)
    expect(chunked.status).toBe(413)
    const res = await fetch(`${url}/v1/bundle`)
    expect({ status: res.status, body: await res.json() }).toMatchObject({ status: 404, body: { code: 'ERR_ROUTE_NOT_FOUND' } })
  })
})

/** The Worker again with other bindings (a redeploy), for `use`. */
async function withBindings(bindings: Record<string, string>, use: (url: string) => Promise<void>): Promise<void> {
  const other = new Miniflare({ ...options, port: await freePort(), bindings: { ...options.bindings, ...bindings } })
  try {
    await use((await other.ready).toString().replace(/\/$/, ''))
  } finally {
    await other.dispose()
  }
}

/** A session started on the Worker (key k1), and the answer the agent would send. */
async function heldAnswer(): Promise<{ sessionId: string; answerBody: Record<string, unknown> }> {
  let held: { sessionId: string; answerBody: Record<string, unknown> } | undefined
  await attestOverHttp(url, agent, ev, {
    fetch: async (input, init) => {
      if (!String(input).endsWith('/answer')) return fetch(input, init)
      held = { sessionId: String(input).split('/').at(-2)!, answerBody: JSON.parse(String(init!.body)) as Record<string, unknown> }
      return Response.json({ held: true })
    },
  })
  return held!
}

const key = (id: string, byte: number, flags: Record<string, boolean> = {}) => ({
  id,
  key: Buffer.alloc(32, byte).toString('base64'),
  ...flags,
})

it('key rotation across a redeploy: k2 seals and k1 still opens (200); once k1 is retired, its sessions get ERR_SESSION_KEY_RETIRED (410)', async () => {
  const first = await heldAnswer()
  const second = await heldAnswer()
  await withBindings({ SESSION_KEYS: JSON.stringify([key('k2', 8, { seal: true }), key('k1', 7)]) }, async (rotated) => {
    const r = await post(`${rotated}/v1/attest/${first.sessionId}/answer`, first.answerBody)
    expect(r.status, JSON.stringify(r.body)).toBe(200)
  })
  await withBindings({ SESSION_KEYS: JSON.stringify([key('k2', 8, { seal: true }), key('k1', 7, { retired: true })]) }, async (retired) => {
    expect(await post(`${retired}/v1/attest/${second.sessionId}/answer`, second.answerBody)).toEqual({
      status: 410,
      body: { code: 'ERR_SESSION_KEY_RETIRED', message: SESSION_KEY_RETIRED },
    })
  })
})

it('a wrong binding: every request is ERR_INTERNAL (500), the caller learns nothing of the configuration', async () => {
  await withBindings({ SESSION_KEYS: JSON.stringify([{ id: 'k1', key: 'c2VjcmV0', seal: true }]) }, async (broken) => {
    const r = await post(`${broken}/v1/attest`, { providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    expect(r).toEqual({ status: 500, body: { code: 'ERR_INTERNAL', message: 'internal server error' } })
  })
})

describe('examples/cloudflare-worker-attest: the use-once Durable Object', () => {
  // Miniflare's types need workers-types: the namespace as the parts used here
  type Namespace = { idFromName(name: string): object; get(id: object): { fetch(url: string, init?: RequestInit): Promise<Response> } }
  const namespace = async () => (await mf.getDurableObjectNamespace('USE_ONCE')) as unknown as Namespace
  const claim = async (shard: string, id: string, expiresAt: number) => {
    const ns = await namespace()
    const res = await ns
      .get(ns.idFromName(shard))
      .fetch('https://use-once/claim', { method: 'POST', body: JSON.stringify({ id, expiresAt }) })
    return ((await res.json()) as { claimed: boolean }).claimed
  }
  const size = async (shard: string) => {
    const ns = await namespace()
    return ((await (await ns.get(ns.idFromName(shard)).fetch('https://use-once/size')).json()) as { records: number }).records
  }

  it('40 claims of one id at once: exactly one wins', async () => {
    const id = 'concurrent-claims-0123'
    const results = await Promise.all(Array.from({ length: 40 }, () => claim('test-concurrency', id, Date.now() + 300_000)))
    expect(results.filter(Boolean)).toHaveLength(1)
    expect(await size('test-concurrency')).toBe(1)
  })

  it('a record past its expiry + grace is deleted by the alarm (and the id could be claimed again)', async () => {
    const shard = 'test-alarm'
    expect(await claim(shard, 'expired-record-0123456', Date.now() - 120_000)).toBe(true)
    // the alarm was set at expiry + grace, already past: it rings at once
    // (a size read that races the alarm's run can fail inside Miniflare's proxy: read again)
    const sizeNow = () => size(shard).catch(() => -1)
    let n = await sizeNow()
    for (let i = 0; i < 100 && n !== 0; i++) {
      await new Promise((r) => setTimeout(r, 50))
      n = await sizeNow()
    }
    expect(n).toBe(0)
    expect(await claim(shard, 'expired-record-0123456', Date.now() + 300_000)).toBe(true)
  })
})
