import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { parsePemCertificates } from '../../../core/bytes/pem.ts'
import { OID } from '../../../core/der/oid.ts'
import { encodeOidTlv, encodeSequence } from '../../../core/der/writer.ts'
import {
  checkDevIdCertificateProfile,
  DEVID_PROFILE_TOLERANCES,
  describeDevIdCertificate,
  evaluateDevIdCertificateProfile,
} from '../../../core/devid/certificate.ts'
import { X509Error } from '../../../core/errors.ts'
import { parseCertificate } from '../../../core/x509/certificate.ts'
import { basicConstraints, buildCert, cn, ext, keyUsage, makeKey, type ExtensionSpec, type NameSpec } from '../../support/x509-builder.ts'

const VECTORS = join(import.meta.dirname, '../../vectors')
const load = (p: string) => parseCertificate(new Uint8Array(readFileSync(join(VECTORS, p))))

describe('DevID leaf profile on real certificates', () => {
  it('every committed swtpm DevID leaf (openssl, 802.1AR hardwareModuleName SAN) meets the strict profile', () => {
    const leaves = [
      'tpm-a/devid-rsa.crt.der',
      'tpm-a/devid-p256.crt.der',
      'tpm-a/devid-rsa.rsa-ca.crt.der',
      'tpm-b/devid-rsa.crt.der',
      'tpm-b/devid-p256.crt.der',
    ]
    for (const f of leaves) expect(evaluateDevIdCertificateProfile(load(`swtpm/${f}`)), f).toEqual({ tolerated: [] })
  })

  for (const f of ['isaac_hpe_idevid.der', 'isaac_hpe_iak.der']) {
    it(`keylime's HPE test ${f} (EKU serverAuth only) needs devid-other-eku`, () => {
      const c = load(`real-tpm-ek/keylime-keylime/extracted/test_cert_utils/${f}`)
      expect(c.extKeyUsage).toEqual([OID.serverAuth])
      expect(() => checkDevIdCertificateProfile(c)).toThrow(
        /^DevID certificate \(CN=P38471-B21(-IAK)?, serial [0-9a-f]+\): extKeyUsage 1\.3\.6\.1\.5\.5\.7\.3\.1 allows neither client authentication nor a TCG DevID purpose \(tolerance devid-other-eku not enabled\)$/,
      )
      expect(evaluateDevIdCertificateProfile(c, { tolerate: ['devid-other-eku'] })).toEqual({ tolerated: ['devid-other-eku'] })
    })
  }

  it('a real CA certificate (the DevID intermediate of the fixtures) is not a DevID leaf, whatever is tolerated', () => {
    const ca = parseCertificate(parsePemCertificates(readFileSync(join(VECTORS, 'swtpm/devid-ca/intermediate.pem'), 'utf8'))[0]!)
    expect(() => evaluateDevIdCertificateProfile(ca, { tolerate: DEVID_PROFILE_TOLERANCES })).toThrow(
      /^DevID certificate \(CN=vouch test DevID Intermediate CA, serial 1001\): basicConstraints cA is true/,
    )
  })
})

describe('DevID leaf profile rules (built certificates)', () => {
  const caKey = makeKey()
  const leafKey = makeKey()
  const issuer = { subject: cn('DevID CA'), key: caKey }
  const eku = (...oids: string[]) => ext(OID.extKeyUsage, encodeSequence(...oids.map((o) => encodeOidTlv(o))))
  const build = (extensions: ExtensionSpec[], subject: NameSpec = cn('device-1')) =>
    parseCertificate(buildCert({ subject, key: leafKey, issuer, extensions }))
  const all = { tolerate: DEVID_PROFILE_TOLERANCES }

  it('accepts: no extensions; digitalSignature (+ others); clientAuth, anyExtendedKeyUsage, the TCG DevID purposes', () => {
    const ok: ExtensionSpec[][] = [
      [],
      [basicConstraints(false), keyUsage([0])],
      [keyUsage([0, 2])],
      [keyUsage([0]), eku(OID.clientAuth)],
      [eku(OID.serverAuth, OID.clientAuth)],
      [eku(OID.anyExtendedKeyUsage)],
      [eku(OID.verifiedTpmResidency)],
      [eku(OID.verifiedTpmFixed)],
    ]
    for (const exts of ok) expect(evaluateDevIdCertificateProfile(build(exts))).toEqual({ tolerated: [] })
  })

  it('refuses a CA, keyCertSign/cRLSign, or keyUsage without digitalSignature, even with every tolerance', () => {
    const refused: [ExtensionSpec[], RegExp][] = [
      [[basicConstraints(true), keyUsage([0, 5])], /basicConstraints cA is true; a DevID leaf is not a CA/],
      [[basicConstraints(true)], /not a CA/],
      [[keyUsage([0, 5])], /keyUsage asserts keyCertSign or cRLSign/],
      [[keyUsage([0, 6])], /keyUsage asserts keyCertSign or cRLSign/],
      [[keyUsage([2])], /keyUsage lacks digitalSignature; the DevID key must sign the verifier nonce/],
      [[keyUsage([4])], /keyUsage lacks digitalSignature/],
    ]
    for (const [exts, rule] of refused) {
      let err: unknown
      try {
        evaluateDevIdCertificateProfile(build(exts), all)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(X509Error)
      expect((err as X509Error).code).toBe('ERR_X509_PROFILE')
      expect((err as X509Error).message).toMatch(/^DevID certificate \(CN=device-1, serial 01\): /)
      expect((err as X509Error).message).toMatch(rule)
    }
  })

  it('an extKeyUsage for another purpose (serverAuth, codeSigning, the IAK purpose) needs devid-other-eku', () => {
    for (const p of [OID.serverAuth, '1.3.6.1.5.5.7.3.3', OID.verifiedTpmRestricted, OID.ekCertificate]) {
      const c = build([keyUsage([0]), eku(p)])
      expect(() => checkDevIdCertificateProfile(c)).toThrow(/\(tolerance devid-other-eku not enabled\)/)
      expect(evaluateDevIdCertificateProfile(c, all)).toEqual({ tolerated: ['devid-other-eku'] })
    }
  })

  it('names a certificate with an empty subject by its serial', () => {
    expect(describeDevIdCertificate(build([], []))).toBe('DevID certificate ((empty subject), serial 01)')
    expect(describeDevIdCertificate(build([], [[OID.organizationName, 'acme']]))).toBe('DevID certificate (O=acme, serial 01)')
  })
})
