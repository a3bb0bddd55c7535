/**
 * scripts/make-fixtures.ts: the committed fixtures (test/vectors/swtpm) and a fresh run in a temp dir
 * must be structurally right: file set == manifest, EK and DevID chains verify with openssl, quotes are
 * accepted by tpm2_checkquote, and the committed TPM states are the TPMs the evidence came from.
 */
import { readdirSync, statSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIXTURE_DIR, run, startFixtureTpm } from '../support/swtpm.ts'
import { Tpm2Tools, type TpmObject } from '../support/tpm2-tools.ts'

const REPO = join(FIXTURE_DIR, '..', '..', '..')

interface Manifest {
  tpms: Record<string, { state: string; ekCerts: Record<string, string> }>
  trustAnchors: { ek: string[]; ekIntermediates: string[]; devid: string[]; devidIntermediates: string[] }
  sets: { name: string; path: string; attestor: string; tpm: string; liveTpm: string; expect: 'accept' | 'reject'; failsAt?: string }[]
  files: { path: string; encoding: string; tpm?: string; meaning: string }[]
}

function walk(dir: string, base = dir): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const p = join(dir, entry)
    return statSync(p).isDirectory() ? walk(p, base) : [relative(base, p)]
  })
}

async function loadManifest(dir: string): Promise<Manifest> {
  return JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as Manifest
}

async function derToPem(der: string, scratch: string, label: string): Promise<string> {
  const out = join(scratch, `${label}.pem`)
  await run('openssl', ['x509', '-inform', 'der', '-in', der, '-out', out])
  return out
}

/** The structural checks, for any output dir of the generator. */
async function checkFixtureDir(dir: string, scratch: string): Promise<Manifest> {
  const m = await loadManifest(dir)
  // 1. the files on disk are exactly the manifest's
  expect(walk(dir).sort()).toEqual(m.files.map((f) => f.path).sort())
  for (const f of m.files) expect(f.meaning.length).toBeGreaterThan(3)

  // 2. every EK certificate chains to the swtpm local CA; every DevID leaf to the DevID CA
  const ekRoot = join(dir, m.trustAnchors.ek[0]!)
  const ekInt = join(dir, m.trustAnchors.ekIntermediates[0]!)
  for (const [name, tpm] of Object.entries(m.tpms)) {
    for (const [index, rel] of Object.entries(tpm.ekCerts)) {
      const pem = await derToPem(join(dir, rel), scratch, `${name}-${index}`)
      const { stdout } = await run('openssl', ['verify', '-CAfile', ekRoot, '-untrusted', ekInt, pem])
      expect(stdout.trim()).toMatch(/: OK$/)
    }
  }
  // two DevID CAs (P-256 and RSA): each leaf chains to one of them
  const devidRoots = join(scratch, 'devid-roots.pem')
  const devidInts = join(scratch, 'devid-intermediates.pem')
  await writeFile(devidRoots, (await Promise.all(m.trustAnchors.devid.map((p) => readFile(join(dir, p), 'utf8')))).join(''))
  await writeFile(devidInts, (await Promise.all(m.trustAnchors.devidIntermediates.map((p) => readFile(join(dir, p), 'utf8')))).join(''))
  expect(m.trustAnchors.devid).toHaveLength(2)
  const leaves = m.files.filter((f) => /devid[^/]*\.crt\.der$/.test(f.path))
  expect(leaves.length).toBeGreaterThanOrEqual(6)
  for (const leaf of leaves) {
    const pem = await derToPem(join(dir, leaf.path), scratch, leaf.path.replace(/\W/g, '_'))
    const { stdout } = await run('openssl', ['verify', '-CAfile', devidRoots, '-untrusted', devidInts, pem])
    expect(stdout.trim()).toMatch(/: OK$/)
    // the leaf certifies exactly the TPM key next to it (devid-rsa.rsa-ca.crt.der: devid-rsa.pem)
    const spki = (await run('openssl', ['x509', '-in', pem, '-pubkey', '-noout'])).stdout
    expect(spki).toBe(await readFile(join(dir, leaf.path.replace(/(\.rsa-ca)?\.crt\.der$/, '.pem')), 'utf8'))
  }
  // the all-RSA set's leaf is signed by the RSA intermediate
  const rsaLeaf = await derToPem(join(dir, 'tpm-a/devid-rsa.rsa-ca.crt.der'), scratch, 'rsa-ca-leaf')
  expect((await run('openssl', ['x509', '-in', rsaLeaf, '-noout', '-text'])).stdout).toMatch(
    /Signature Algorithm: sha256WithRSAEncryption[\s\S]*Issuer: O = vouch test, CN = vouch test DevID RSA Intermediate CA/,
  )

  // 3. tpm2_checkquote accepts every quote with its nonce, and rejects it with another nonce
  const quotes = m.files.filter((f) => /quote-ak-[a-z]+\.msg$/.test(f.path)).map((f) => f.path.replace(/\.msg$/, ''))
  expect(quotes.length).toBe(2 * Object.keys(m.tpms).length)
  for (const q of quotes) {
    const ak = q.replace(/quote-(ak-[a-z]+)$/, '$1.pub')
    const nonce = (await readFile(join(dir, `${q}.nonce`))).toString('hex')
    const args = [
      '-u',
      join(dir, ak),
      '-m',
      join(dir, `${q}.msg`),
      '-s',
      join(dir, `${q}.sig`),
      '-f',
      join(dir, `${q}.pcrs`),
      '-F',
      'values',
      '-l',
      'sha256:0,1,2,7',
      '-g',
      'sha256',
    ]
    await run('tpm2_checkquote', [...args, '-q', nonce])
    await expect(run('tpm2_checkquote', [...args, '-q', `${nonce.slice(0, -2)}00`])).rejects.toThrow()
  }

  // 4. DevID signatures verify with openssl against the DevID public key
  for (const sig of m.files.filter((f) => /sign-devid-[a-z0-9]+\.sig$/.test(f.path))) {
    const key = join(dir, sig.path.replace(/sign-(devid-[a-z0-9]+)\.sig$/, '$1.pem'))
    await run('openssl', [
      'dgst',
      '-sha256',
      '-verify',
      key,
      '-signature',
      join(dir, sig.path),
      join(dir, sig.path.replace(/\.sig$/, '.data')),
    ])
  }

  // 5. every evidence set parses and says what to expect; SPIRE field names
  expect(m.sets.filter((s) => s.expect === 'accept').length).toBeGreaterThanOrEqual(4)
  expect(m.sets.filter((s) => s.expect === 'reject').length).toBeGreaterThanOrEqual(5)
  for (const s of m.sets) {
    const payload = JSON.parse(await readFile(join(dir, s.path), 'utf8')) as Record<string, unknown>
    const keys =
      s.attestor === 'tpm_devid'
        ? ['AKPub', 'CertificationSignature', 'CertifiedDevID', 'DevIDCert', 'DevIDPub', 'EKCert', 'EKPub']
        : ['AKPub', 'EKCert', 'EKPub']
    expect(Object.keys(payload).sort()).toEqual(keys)
    if (s.expect === 'reject') expect(s.failsAt).toBeTruthy()
  }
  return m
}

describe('committed fixtures test/vectors/swtpm', () => {
  let scratch: string
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'vouch-fixture-check-'))
  })
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true })
  })

  it('are structurally right (manifest, chains, quotes, signatures, sets)', async () => {
    await checkFixtureDir(FIXTURE_DIR, scratch)
  })

  it('state/tpm-a is the TPM the evidence came from: same EK, DevID blobs load, credentials activate', async () => {
    const tpm = await startFixtureTpm('tpm-a')
    try {
      const t = new Tpm2Tools(tpm)
      const ek = await t.createEk('rsa')
      expect(Buffer.from(ek.pub)).toEqual(await readFile(join(FIXTURE_DIR, 'tpm-a/ek-rsa.pub')))
      const srk = await t.createSrk('rsa')
      const file = (rel: string) => join(FIXTURE_DIR, 'tpm-a', rel)
      const devid = await t.load(srk, { pubPath: file('devid-rsa.pub'), privPath: file('devid-rsa.priv') }, 'devid')
      expect(Buffer.from(devid.name)).toEqual(await readFile(file('devid-rsa.name')))
      const ak: TpmObject = await t.load(srk, { pubPath: file('ak-rsa.pub'), privPath: file('ak-rsa.priv') }, 'ak')
      const secret = new Uint8Array(32).map((_, i) => 255 - i)
      const { blobPath } = await t.makeCredential({ pubPath: file('ek-rsa.pub') }, ak.name, secret)
      expect(Buffer.from(await t.activateCredential(ak, ek, blobPath))).toEqual(Buffer.from(secret))
    } finally {
      await tpm.stop()
    }
  })

  it("state/tpm-b is another TPM: tpm-a's DevID blob does not load there", async () => {
    const tpm = await startFixtureTpm('tpm-b')
    try {
      const t = new Tpm2Tools(tpm)
      const srk = await t.createSrk('rsa')
      const file = (rel: string) => join(FIXTURE_DIR, 'tpm-a', rel)
      await expect(t.load(srk, { pubPath: file('devid-rsa.pub'), privPath: file('devid-rsa.priv') })).rejects.toThrow(/integrity/)
    } finally {
      await tpm.stop()
    }
  })
})

describe('scripts/make-fixtures.ts run from scratch', () => {
  let out: string
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), 'vouch-fixture-gen-'))
  })
  afterAll(async () => {
    await rm(out, { recursive: true, force: true })
  })

  it('regenerates the same file set, and it checks out', async () => {
    const target = join(out, 'swtpm')
    await run(join(REPO, 'node_modules', '.bin', 'tsx'), [join(REPO, 'scripts', 'make-fixtures.ts'), target], { cwd: REPO })
    const fresh = await checkFixtureDir(target, out)
    const committed = await loadManifest(FIXTURE_DIR)
    expect(fresh.files.map((f) => f.path)).toEqual(committed.files.map((f) => f.path))
    expect(fresh.sets.map((s) => [s.name, s.expect])).toEqual(committed.sets.map((s) => [s.name, s.expect]))
    // a fresh run makes fresh TPMs: the EK differs from the committed one
    const a = await readFile(join(target, 'tpm-a/ek-rsa.pub'))
    expect(a.equals(await readFile(join(FIXTURE_DIR, 'tpm-a/ek-rsa.pub')))).toBe(false)
  }, 180_000)

  it('refuses to overwrite a non-empty dir that is not a fixture dir', async () => {
    const target = join(out, 'not-fixtures')
    await run('mkdir', ['-p', target])
    await writeFile(join(target, 'keep.txt'), 'x')
    await expect(
      run(join(REPO, 'node_modules', '.bin', 'tsx'), [join(REPO, 'scripts', 'make-fixtures.ts'), target], { cwd: REPO }),
    ).rejects.toThrow(/refusing to overwrite/)
    expect(await readFile(join(target, 'keep.txt'), 'utf8')).toBe('x')
  })
})
