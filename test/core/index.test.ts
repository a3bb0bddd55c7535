import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import * as vouch from '../../core/index.ts'

const root = resolve(import.meta.dirname, '../..')

describe('public API (package export ".")', () => {
  it('exposes the verification entry points', () => {
    for (const name of [
      'verifyQuote',
      'verifyCertify',
      'verifyChain',
      'parseCertificate',
      'makeCredential',
      'checkActivatedSecret',
      'createAttestationVerifier',
      'createAttestationCaches',
      'createMemorySessionStore',
      'parsePolicyDocument',
      'validatePolicyDocument',
      'verifyX509Svid',
      'verifyJwtSvid',
      'parseSpiffeId',
      'parseSpiffeBundle',
      'ekPublicHash',
      'defaultPlatform',
      'createWebCryptoProvider',
    ]) {
      expect(typeof (vouch as Record<string, unknown>)[name], name).toBe('function')
    }
    expect(new vouch.VerifyError('ERR_NOT_SUPPORTED', 'x').code).toBe('ERR_NOT_SUPPORTED')
    expect(new vouch.X509Error('ERR_X509_EXPIRED', 'x')).toBeInstanceOf(vouch.VerifyError)
  })

  it('is curated: no parsing helpers at the root, a bounded number of names', () => {
    const names = Object.keys(vouch)
    for (const helper of ['readName', 'ByteReader', 'parseTpmtPublic', 'parseTpmsAttest', 'toHex', 'kdfa', 'TPM_ALG', 'jsKernels']) {
      expect(names, helper).not.toContain(helper)
    }
    expect(names.length).toBeLessThanOrEqual(50)
  })

  it('every subpath of package.json exports an entry that exists and is importable', async () => {
    const pkg = JSON.parse(readFileSync(resolve(root, 'package.json'), 'utf8')) as { exports: Record<string, unknown> }
    const sourceOf: Record<string, string> = {
      '.': 'core/index.ts',
      './x509': 'core/entries/x509.ts',
      './tpm2': 'core/entries/tpm2.ts',
      './credential': 'core/entries/credential.ts',
      './svid': 'core/entries/svid.ts',
      './attestation': 'core/entries/attestation.ts',
      './bytes': 'core/entries/bytes.ts',
      './eventlog': 'core/entries/eventlog.ts',
      './node': 'runtimes/node/index.ts',
      './bun': 'runtimes/bun/index.ts',
      './deno': 'runtimes/deno/index.ts',
      './edge': 'runtimes/edge/index.ts',
      './workload': 'runtimes/workload/index.ts',
    }
    const subpaths = Object.keys(pkg.exports).filter((k) => k !== './package.json' && k !== './wasm/kernels.wasm')
    expect(subpaths.sort()).toEqual(Object.keys(sourceOf).sort())
    for (const [subpath, source] of Object.entries(sourceOf)) {
      const entry = pkg.exports[subpath] as { types: string; default: string }
      expect(entry.types, subpath).toBe(`./dist/${source.replace(/\.ts$/, '.d.ts')}`)
      expect(entry.default, subpath).toBe(`./dist/${source.replace(/\.ts$/, '.js')}`)
      const mod = (await import(resolve(root, source))) as Record<string, unknown>
      expect(Object.keys(mod).length, subpath).toBeGreaterThan(0)
    }
    expect(Object.keys(await import('../../core/entries/tpm2.ts'))).toEqual(
      expect.arrayContaining(['parseTpmtPublic', 'parseTpmsAttest', 'verifyQuote']),
    )
  })

  it('`npx vouch --help` works from the checkout (the bin of package.json, compiled)', () => {
    const out = execFileSync('npx', ['vouch', '--help'], { cwd: root, encoding: 'utf8' })
    expect(out).toMatch(/^vouch: verify hardware-rooted machine identity/)
    expect(out).toMatch(/verify quote/)
  })
})
