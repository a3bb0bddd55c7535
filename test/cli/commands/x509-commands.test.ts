import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { afterAll, describe, expect, it } from 'vitest'
import { main } from '../../../cli/main.ts'
import { toPem } from '../../../core/bytes/pem.ts'
import { buildCert, caExtensions, cn, dnsSan, makeKey } from '../../support/x509-builder.ts'

const dir = mkdtempSync(join(tmpdir(), 'vouch-cli-x509-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))
const V = (p: string) => fileURLToPath(new URL(`../../vectors/real-tpm-ek/${p}`, import.meta.url))
const LIMBO = fileURLToPath(new URL('../../vectors/x509-limbo/limbo.json', import.meta.url))

async function run(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = []
  const err: string[] = []
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) })
  return { code, out: out.join('\n'), err: err.join('\n') }
}

const INTEL = V('loicsikidi-go-tpm-kit/tpmtest/testutil/ek/testdata/intel-ekcert.pem')
const INTEL_I = V('keylime-keylime/tpm_cert_store/INTEL_I.pem')
const INTEL_RT = V('keylime-keylime/tpm_cert_store/INTEL_RT.pem')
const STM_PADDED = V('keylime-keylime/extracted/test_cert_utils/st_sha256_with_rsa_der.ff_padded.der')

describe('vouch verify chain', () => {
  it('verifies a real EK chain with --profile ek (PEM with a text preamble)', async () => {
    const r = await run(
      'verify',
      'chain',
      '--profile',
      'ek',
      '--anchors',
      INTEL_RT,
      '--intermediates',
      INTEL_I,
      '--at',
      '2026-11-01T00:00:00Z',
      INTEL,
    )
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^valid/)
    expect(r.out).toMatch(/TPM EK root cert signing.*\(anchor\)/)
  })

  it('prints JSON and exit 1 for an invalid chain (profile none: critical EK SAN)', async () => {
    const r = await run('verify', 'chain', '--anchors', INTEL_RT, '--intermediates', INTEL_I, '--output', 'json', INTEL)
    expect(r.code).toBe(1)
    const j = JSON.parse(r.out)
    expect(j.valid).toBe(false)
    expect(j.error.code).toMatch(/^ERR_(DER|X509)_/)
  })

  it('takes several certificates in one PEM file (the first anchor found ends the path) and honours --at', async () => {
    const rk = makeKey()
    const mk = makeKey()
    const root = buildCert({ subject: cn('Root'), key: rk, extensions: caExtensions() })
    const mid = buildCert({ subject: cn('Mid'), key: mk, issuer: { subject: cn('Root'), key: rk }, extensions: caExtensions() })
    const leaf = buildCert({
      subject: cn('Leaf'),
      key: makeKey(),
      issuer: { subject: cn('Mid'), key: mk },
      extensions: [dnsSan('a.example')],
    })
    writeFileSync(join(dir, 'bundle.pem'), toPem('CERTIFICATE', mid) + toPem('CERTIFICATE', root))
    writeFileSync(join(dir, 'root.pem'), toPem('CERTIFICATE', root))
    writeFileSync(join(dir, 'leaf.der'), leaf)
    const ok = await run(
      'verify',
      'chain',
      '--anchors',
      join(dir, 'root.pem'),
      '--intermediates',
      join(dir, 'bundle.pem'),
      '--at',
      '2030-01-01T00:00:00Z',
      '--output',
      'json',
      join(dir, 'leaf.der'),
    )
    expect(ok.code).toBe(0)
    expect(JSON.parse(ok.out).path.map((p: { subject: string }) => p.subject)).toEqual(['CN=Leaf', 'CN=Mid', 'CN=Root'])
    const late = await run(
      'verify',
      'chain',
      '--anchors',
      join(dir, 'root.pem'),
      '--intermediates',
      join(dir, 'bundle.pem'),
      '--at',
      '2035-01-01T00:00:00Z',
      join(dir, 'leaf.der'),
    )
    expect(late.code).toBe(1)
    expect(late.out).toMatch(/ERR_X509_EXPIRED/)
    // with the intermediate also trusted, the path ends at it
    const short = await run(
      'verify',
      'chain',
      '--anchors',
      join(dir, 'bundle.pem'),
      '--at',
      '2030-01-01T00:00:00Z',
      '--output',
      'json',
      join(dir, 'leaf.der'),
    )
    expect(JSON.parse(short.out).path).toHaveLength(2)
  })

  it('usage errors exit 2', async () => {
    expect((await run('verify', 'chain', INTEL)).code).toBe(2)
    expect((await run('verify', 'chain', '--anchors', INTEL_RT, '--profile', 'web', INTEL)).code).toBe(2)
    expect((await run('verify', 'chain', '--anchors', INTEL_RT, '--at', 'yesterday', INTEL)).code).toBe(2)
    expect((await run('verify', 'chain', '--anchors', join(dir, 'missing.pem'), INTEL)).code).toBe(2)
  })
})

const openssl = (path: string, inform: string) =>
  execFileSync('sh', ['-c', `openssl x509 -inform ${inform} -in '${path}' -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum`])
    .toString()
    .split(' ')[0]!

describe('vouch ek hash', () => {
  it('hashes an EK certificate (PEM with preamble, padded DER) like openssl', async () => {
    expect((await run('ek', 'hash', INTEL)).out).toBe(openssl(INTEL, 'PEM'))
    const padded = await run('ek', 'hash', STM_PADDED)
    expect(padded.code).toBe(0)
    writeFileSync(join(dir, 'stm.der'), readFileSync(STM_PADDED).subarray(0, 1169))
    expect(padded.out).toBe(openssl(join(dir, 'stm.der'), 'DER'))
  })

  it('hashes a PEM public key, prints JSON, rejects garbage', async () => {
    execFileSync('sh', ['-c', `openssl x509 -in '${INTEL}' -pubkey -noout > '${join(dir, 'pub.pem')}'`])
    const j = await run('ek', 'hash', '--output', 'json', join(dir, 'pub.pem'))
    expect(JSON.parse(j.out)).toEqual({ ekPublicHash: openssl(INTEL, 'PEM'), source: 'public-key' })
    writeFileSync(join(dir, 'junk.bin'), Uint8Array.of(1, 2, 3))
    expect((await run('ek', 'hash', join(dir, 'junk.bin'))).code).toBe(1)
    expect((await run('ek', 'hash')).code).toBe(2)
  })
})

describe('vouch ek hash on a TPM public area', () => {
  it('the EK TPM2B_PUBLIC and TPMT_PUBLIC of a swtpm hash like its EK certificate (openssl)', async () => {
    const fx = (f: string) => new URL(`../../vectors/swtpm/tpm-a/${f}`, import.meta.url).pathname
    for (const [pub, cert] of [
      ['ek-rsa.pub', 'ek-rsa.crt.der'],
      ['ek-rsa.tpmt', 'ek-rsa.crt.der'],
      ['ek-p256.pub', 'ek-p256.crt.der'],
    ]) {
      const r = await run('ek', 'hash', '--output', 'json', fx(pub!))
      expect(r.code).toBe(0)
      expect(JSON.parse(r.out)).toEqual({ ekPublicHash: openssl(fx(cert!), 'DER'), source: 'tpm-public' })
    }
  })
})

describe('vouch conformance limbo', () => {
  it('writes a limbo results file', async () => {
    const out = join(dir, 'results.json')
    const r = await run('conformance', 'limbo', LIMBO, '--out', out)
    expect(r.code).toBe(0)
    const doc = JSON.parse(readFileSync(out, 'utf8'))
    expect(doc.version).toBe(1)
    expect(doc.harness).toBe('vouch')
    expect(doc.results).toHaveLength(208)
    for (const x of doc.results) expect(['SUCCESS', 'FAILURE', 'SKIPPED']).toContain(x.actual_result)
    expect(r.out).toMatch(/208 testcases: 40 success, 90 failure, 78 skipped/)
    expect((await run('conformance', 'limbo', LIMBO)).code).toBe(2)
  })

  it('reads a gzipped limbo file; garbage is a usage error', async () => {
    const some = JSON.parse(readFileSync(LIMBO, 'utf8')).testcases.filter((t: { id: string }) => t.id.startsWith('pathlen::'))
    const gz = join(dir, 'pathlen.json.gz')
    writeFileSync(gz, gzipSync(JSON.stringify({ version: 1, testcases: some })))
    const out = join(dir, 'pathlen-results.json')
    const r = await run('conformance', 'limbo', gz, '--out', out)
    expect(r.code).toBe(0)
    expect(r.out).toMatch(/^13 testcases: 9 success, 4 failure, 0 skipped/)
    const bad = join(dir, 'bad.json.gz')
    writeFileSync(bad, Uint8Array.of(0x1f, 0x8b, 0x08, 0x00, 0x01))
    const e = await run('conformance', 'limbo', bad, '--out', out)
    expect(e.code).toBe(2)
    expect(e.err).toMatch(/bad\.json\.gz: not JSON \(or gzipped JSON\)/)
  })
})
