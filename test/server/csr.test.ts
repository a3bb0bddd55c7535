import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isVerifyError } from '../../core/errors.ts'
import { defaultPlatform } from '../../core/platform.ts'
import { verifyCertificationRequest } from '../../server/ca/csr.ts'

const platform = defaultPlatform()

/** A CSR made by openssl and the SPKI DER of its key, read back by openssl. */
function opensslCsr(keyArgs: string[]): { csr: Uint8Array; spki: Uint8Array } {
  const dir = mkdtempSync(join(tmpdir(), 'vouch-csr-'))
  const key = join(dir, 'k.pem')
  execFileSync(
    'openssl',
    ['req', '-new', ...keyArgs, '-nodes', '-keyout', key, '-out', join(dir, 'r.der'), '-outform', 'DER', '-subj', '/CN=ignored'],
    { stdio: 'ignore' },
  )
  execFileSync('openssl', ['pkey', '-in', key, '-pubout', '-outform', 'DER', '-out', join(dir, 'spki.der')])
  return { csr: new Uint8Array(readFileSync(join(dir, 'r.der'))), spki: new Uint8Array(readFileSync(join(dir, 'spki.der'))) }
}

const EC = opensslCsr(['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'])
const RSA = opensslCsr(['-newkey', 'rsa:2048'])

describe('PKCS#10 certification request', () => {
  it('verifies openssl CSRs (P-256, RSA) and yields exactly the key openssl reports', async () => {
    expect((await verifyCertificationRequest(EC.csr, platform)).spki).toEqual(EC.spki)
    expect((await verifyCertificationRequest(RSA.csr, platform)).spki).toEqual(RSA.spki)
  })

  it('refuses a CSR whose signature does not verify (a byte of the subject changed)', async () => {
    const bad = EC.csr.slice()
    const i = Buffer.from(bad).indexOf(Buffer.from('ignored'))
    bad[i] = 0x4a
    await expect(verifyCertificationRequest(bad, platform)).rejects.toMatchObject({
      code: 'ERR_X509_SIGNATURE_INVALID',
      message: 'csr: signature does not verify with its own public key',
    })
  })

  it('property: truncated, extended or mutated CSRs give a VerifyError or a verified key, never another exception', async () => {
    const real = fc.constantFrom(EC.csr, RSA.csr)
    const input = fc.oneof(
      real.chain((c) => fc.nat({ max: c.length }).map((n) => c.slice(0, n))),
      real.chain((c) => fc.uint8Array({ minLength: 1, maxLength: 8 }).map((x) => new Uint8Array([...c, ...x]))),
      real.chain((c) =>
        fc.array(fc.tuple(fc.nat({ max: c.length - 1 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 }).map((ms) => {
          const m = c.slice()
          for (const [i, v] of ms) m[i] = v
          return m
        }),
      ),
    )
    await fc.assert(
      fc.asyncProperty(input, async (der) => {
        try {
          const r = await verifyCertificationRequest(der, platform)
          expect(r.spki.length).toBeGreaterThan(0)
        } catch (e) {
          if (!isVerifyError(e)) throw e
        }
      }),
      { numRuns: 10_000 },
    )
  }, 120_000)
})
