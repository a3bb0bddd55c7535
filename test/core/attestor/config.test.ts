import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { type ConfigContext, parseCertificateBundle, parseEkTrustConfig, CONFIG_LIMITS } from '../../../core/attestor/config.ts'
import { BUILTIN_ATTESTORS } from '../../../core/attestors/registry.ts'
import { DEVID_CA_NO_PEM, EK_TRUST_REQUIRED } from '../../../core/messages.ts'

const V = join(import.meta.dirname, '../../vectors/swtpm')
const devidRoot = readFileSync(join(V, 'devid-ca/root.pem'), 'utf8')
const devidInt = readFileSync(join(V, 'devid-ca/intermediate.pem'), 'utf8')
const HASH = 'cd'.repeat(32)

function collector(): ConfigContext & { issues: string[] } {
  const issues: string[] = []
  return { issues, add: (path, message) => issues.push(`${path}: ${message}`) }
}

describe('attestor config helpers', () => {
  it('EK trust: one of the two keys is required; hashes are lowered; every bad hash is named by index', () => {
    const c = collector()
    expect(parseEkTrustConfig(c, 'cfg', {})).toEqual({})
    expect(c.issues).toEqual([`cfg: ${EK_TRUST_REQUIRED}`])
    const d = collector()
    expect(parseEkTrustConfig(d, 'cfg', { allowedEKHashes: [HASH.toUpperCase(), 'zz', 3] })).toEqual({ allowedEKHashes: [HASH] })
    expect(d.issues).toHaveLength(2)
    expect(d.issues[0]).toMatch(/^cfg\.allowedEKHashes\[1\]: /)
    expect(d.issues[1]).toMatch(/^cfg\.allowedEKHashes\[2\]: /)
  })

  it('PEM bundles: certificates parse, a bundle with none gives the caller’s message, the size bound is checked first', () => {
    const c = collector()
    const certs = parseCertificateBundle(c, 'cfg.devIDCACerts', devidRoot + devidInt, DEVID_CA_NO_PEM, false)
    expect(certs).toHaveLength(2)
    expect(c.issues).toEqual([])
    const none = collector()
    expect(parseCertificateBundle(none, 'cfg.devIDCACerts', 'no pem here', DEVID_CA_NO_PEM, false)).toBeUndefined()
    expect(none.issues).toEqual([`cfg.devIDCACerts: ${DEVID_CA_NO_PEM}`])
    const big = collector()
    expect(parseCertificateBundle(big, 'p', 'x'.repeat(CONFIG_LIMITS.pemBytes + 1), DEVID_CA_NO_PEM, false)).toBeUndefined()
    expect(big.issues).toEqual([`p: PEM text of ${CONFIG_LIMITS.pemBytes + 1} characters exceeds the maximum of ${CONFIG_LIMITS.pemBytes}`])
  })

  it('property: every built-in attestor parses any config object to a config or path-named issues, never a throw (10,000 runs)', () => {
    const key = fc.constantFrom('devIDCACerts', 'endorsementCACerts', 'allowedEKHashes', 'other')
    const value = fc.oneof(
      fc.constantFrom(devidRoot, devidInt + devidRoot, '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', HASH),
      fc.array(fc.oneof(fc.constant(HASH), fc.string({ maxLength: 70 })), { maxLength: 4 }),
      fc.jsonValue({ maxDepth: 2 }),
    )
    const config = fc.dictionary(key, value, { maxKeys: 4 })
    fc.assert(
      fc.property(fc.constantFrom(...BUILTIN_ATTESTORS.attestors), config, (attestor, cfg) => {
        const c = collector()
        const out = attestor.parseConfig(c, 'cfg', cfg)
        for (const i of c.issues) expect(i).toMatch(/^cfg(\.[A-Za-z]+(\[\d+\])?)?: \S/)
        if (c.issues.length === 0) expect(out).toBeDefined()
      }),
      { numRuns: 10_000 },
    )
  })
})
