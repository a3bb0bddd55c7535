import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import * as vouch from '../../core/index.ts'

describe('public API (package export ".")', () => {
  it('exposes the verification entry points', () => {
    for (const name of [
      'verifyQuote',
      'verifyCertify',
      'verifyChain',
      'makeCredential',
      'checkActivatedSecret',
      'createAttestationVerifier',
      'createAttestationCaches',
      'parsePolicyDocument',
      'verifyX509Svid',
      'verifyJwtSvid',
      'parseSpiffeId',
      'parseTpmtPublic',
      'parseTpmsAttest',
      'ekPublicHash',
      'defaultPlatform',
    ]) {
      expect(typeof (vouch as Record<string, unknown>)[name], name).toBe('function')
    }
    expect(new vouch.VerifyError('ERR_NOT_SUPPORTED', 'x').code).toBe('ERR_NOT_SUPPORTED')
  })

  it('`npx vouch --help` works from the checkout (the bin of package.json)', () => {
    const out = execFileSync('npx', ['vouch', '--help'], { cwd: resolve(import.meta.dirname, '../..'), encoding: 'utf8' })
    expect(out).toMatch(/^vouch: verify hardware-rooted machine identity/)
    expect(out).toMatch(/verify quote/)
  })
})
