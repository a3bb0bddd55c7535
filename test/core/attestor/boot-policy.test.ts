import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { bootSelection } from '../../../core/attestation/boot.ts'
import { validateBootPolicy } from '../../../core/attestor/boot-policy.ts'

describe('validateBootPolicy', () => {
  const issues = (v: unknown) => {
    const out: string[] = []
    const p = validateBootPolicy((path, m) => out.push(`${path}: ${m}`), 'boot', v)
    return { p, out }
  }
  it('reads every key, lowering hex', () => {
    const { p, out } = issues({
      secureBoot: 'required',
      pcrs: { sha256: { '7': ['AB'.repeat(32)] }, sha1: { '0': ['00'.repeat(20)] } },
      db: { allowed: ['11'.repeat(32)], forbidden: ['22'.repeat(32)] },
      dbx: { required: ['33'.repeat(32)] },
      bootApplications: ['44'.repeat(32)],
      kernelCommandLine: 'ro( quiet)?',
      quirks: ['shim-authority-size'],
    })
    expect(out).toEqual([])
    expect(p!.pcrs.sha256![7]).toEqual(['ab'.repeat(32)])
    expect(bootSelection(p!)).toEqual([
      { bank: 'sha1', pcrs: [0] },
      { bank: 'sha256', pcrs: [0, 1, 2, 3, 4, 5, 6, 7, 8, 9] },
    ])
  })
  it('names each problem with its path', () => {
    const { out } = issues({
      secureBoot: 'yes',
      pcrs: { md5: {}, sha256: { '24': [], '7': ['00'] } },
      db: { allowed: 'x' },
      kernelCommandLine: '(',
      quirks: ['nope'],
      extra: 1,
    })
    expect(out).toEqual([
      'boot.extra: unknown key "extra"; expected one of secureBoot, pcrs, db, dbx, bootApplications, kernelCommandLine, quirks',
      'boot.secureBoot: expected "required" or "optional", found "yes"',
      'boot.pcrs.md5: unknown PCR bank "md5"; expected one of sha1, sha256, sha384, sha512',
      'boot.pcrs.sha256.7[0]: expected 64 hex digits (32 bytes), found "00"',
      'boot.pcrs.sha256.24: PCR index must be 0 to 23, found "24"',
      'boot.db.allowed: expected an array of 64-digit hex strings',
      expect.stringMatching(/^boot\.kernelCommandLine: not a regular expression: /),
      'boot.quirks[0]: unknown quirk "nope"; expected one of exit-boot-services-missing, shim-authority-size',
    ])
  })
  it('any JSON value: a policy or issues, never a throw (10,000 runs)', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        issues(v)
      }),
      { numRuns: 10_000 },
    )
  })
})
