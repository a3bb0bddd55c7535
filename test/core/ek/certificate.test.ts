import { readFileSync } from 'node:fs'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parsePemCertificates } from '../../../core/bytes/pem.ts'
import { contextTag } from '../../../core/der/reader.ts'
import { OID } from '../../../core/der/oid.ts'
import { EK_TOLERANCES } from '../../../core/der/tolerance.ts'
import { encodeOidTlv, encodeSequence, encodeTlv } from '../../../core/der/writer.ts'
import {
  checkEkCertificateProfile,
  EK_PROFILE_TOLERANCES,
  evaluateEkCertificateProfile,
  parseTpmIdentity,
  type EkProfileTolerance,
} from '../../../core/ek/certificate.ts'
import { VerifyError, X509Error } from '../../../core/errors.ts'
import { parseCertificate } from '../../../core/x509/certificate.ts'
import {
  basicConstraints,
  buildCert,
  cn,
  encodeName,
  ext,
  keyUsage,
  makeKey,
  type ExtensionSpec,
  type NameSpec,
} from '../../support/x509-builder.ts'

const DIR = new URL('../../vectors/real-tpm-ek/', import.meta.url)
function load(p: string) {
  const bytes = new Uint8Array(readFileSync(new URL(p, DIR)))
  const text = new TextDecoder('latin1').decode(bytes)
  return parseCertificate(text.includes('-----BEGIN') ? parsePemCertificates(text)[0]! : bytes, { tolerate: EK_TOLERANCES })
}

describe('TPM identity and EK profile on real certificates', () => {
  const cases: [string, { manufacturer: string; model: string; version: string }][] = [
    [
      'keylime-keylime/extracted/test_registrar/nuvoton_npct75x_rsa_ek.nonDER.der',
      { manufacturer: 'id:4E544300', model: 'NPCT75x', version: 'id:00070002' },
    ],
    [
      'keylime-keylime/extracted/tpm2_objects_test/ifx_slb9670_rsa_ek_cert.der',
      { manufacturer: 'id:49465800', model: 'SLB 9670 TPM2.0', version: 'id:073f' },
    ],
    [
      'loicsikidi-go-tpm-kit/tpmtest/testutil/ek/testdata/intel-ekcert.pem',
      { manufacturer: 'id:494E5443', model: 'SPT', version: 'id:00020000' },
    ],
    [
      'google-go-tpm-tools/internal/test/certificates/uca_tpm_rsa_enc_cert.pem',
      { manufacturer: 'id:474F4F47', model: 'vTPM', version: 'id:20160511' },
    ],
  ]
  for (const [file, want] of cases) {
    it(`${file.split('/').pop()}: ${want.manufacturer} ${want.model}, strict profile`, () => {
      const c = load(file)
      expect(parseTpmIdentity(c)).toEqual(want)
      expect(checkEkCertificateProfile(c)).toEqual(want)
      expect(evaluateEkCertificateProfile(c)).toEqual({ identity: want, tolerated: [] })
    })
  }

  it('every swtpm EK certificate (swtpm_localca: RSA, P-256, P-384) meets the strict profile', () => {
    const files = ['tpm-a/ek-rsa', 'tpm-a/ek-p256', 'tpm-a/ek-p384', 'tpm-b/ek-rsa', 'tpm-b/ek-p384']
    for (const f of files) {
      const c = parseCertificate(new Uint8Array(readFileSync(new URL(`../../vectors/swtpm/${f}.crt.der`, import.meta.url))))
      expect(evaluateEkCertificateProfile(c), f).toEqual({
        identity: { manufacturer: 'id:00001014', model: 'swtpm', version: 'id:20191023' },
        tolerated: [],
      })
    }
  })

  it('STMicro ECC EK: keyAgreement', () => {
    const c = load('keylime-keylime/extracted/test_cert_utils/st_ecdsa_sha256_der.der')
    expect(checkEkCertificateProfile(c).manufacturer).toBe('id:53544D20')
  })

  it('rejects non-EK certificates: a CA, an AK certificate; a GCE "EK/AK CA" EK certificate needs two tolerances', () => {
    expect(() => checkEkCertificateProfile(load('keylime-keylime/tpm_cert_store/STM_RSA_05I.pem'))).toThrow(/not a CA/)
    // GCE AK certificate (signing key): digitalSignature only, even with every tolerance
    const ak = load('google-go-tpm-tools/internal/test/certificates/uca_tpm_rsa_sign_cert.pem')
    expect(() => evaluateEkCertificateProfile(ak, { tolerate: EK_PROFILE_TOLERANCES })).toThrow(/keyUsage lacks keyEncipherment/)
    const pca = load('google-go-tpm-tools/internal/test/certificates/pca_tpm_rsa_enc_cert.pem')
    expect(() => checkEkCertificateProfile(pca)).toThrow(/has no extKeyUsage/)
    expect(() => evaluateEkCertificateProfile(pca, { tolerate: ['ek-missing-eku'] })).toThrow(/has no subjectAltName/)
    expect(evaluateEkCertificateProfile(pca, { tolerate: ['ek-missing-eku', 'ek-missing-tpm-identity'] })).toEqual({
      tolerated: ['ek-missing-eku', 'ek-missing-tpm-identity'],
    })
    expect(parseTpmIdentity(pca)).toBeUndefined()
  })
})

describe('EK profile rules (built certificates)', () => {
  const caKey = makeKey()
  const ekKey = makeKey() // P-256: an ECC EK needs keyAgreement
  const rsaEkKey = makeKey('rsa')
  const issuer = { subject: cn('EK CA'), key: caKey }
  const tpmSan = (critical: boolean, order: string[] = [OID.tpmManufacturer, OID.tpmModel, OID.tpmVersion]) => {
    const values: Record<string, string> = {
      [OID.tpmManufacturer]: 'id:4E544300',
      [OID.tpmModel]: 'NPCT75x',
      [OID.tpmVersion]: 'id:00070002',
    }
    const dn = encodeName(order.map((o) => [o, values[o]!] as [string, string]))
    return ext(OID.subjectAltName, encodeSequence(encodeTlv(contextTag(4, true), dn)), critical)
  }
  const eku = (...oids: string[]) => ext(OID.extKeyUsage, encodeSequence(...oids.map((o) => encodeOidTlv(o))))
  const ekEku = eku(OID.ekCertificate)
  const bcFalse = basicConstraints(false)
  const build = (extensions: ExtensionSpec[], subject: NameSpec = [], key = ekKey) =>
    parseCertificate(buildCert({ subject, key, issuer, extensions }))
  /** every rule met (ECC EK) */
  const full = () => [tpmSan(true), bcFalse, keyUsage([4]), ekEku]

  it('accepts a complete ECC and RSA EK certificate, any attribute order, a named subject with a non-critical SAN', () => {
    expect(checkEkCertificateProfile(build(full())).model).toBe('NPCT75x')
    expect(checkEkCertificateProfile(build([tpmSan(true), bcFalse, keyUsage([2]), ekEku], [], rsaEkKey)).model).toBe('NPCT75x')
    expect(
      checkEkCertificateProfile(build([tpmSan(true, [OID.tpmVersion, OID.tpmManufacturer, OID.tpmModel]), bcFalse, keyUsage([4]), ekEku]))
        .manufacturer,
    ).toBe('id:4E544300')
    expect(checkEkCertificateProfile(build([tpmSan(false), bcFalse, keyUsage([4]), ekEku], cn('unknown'))).version).toBe('id:00070002')
    // extra purposes beside the EK purpose are fine
    expect(checkEkCertificateProfile(build([tpmSan(true), bcFalse, keyUsage([4]), eku(OID.clientAuth, OID.ekCertificate)])).model).toBe(
      'NPCT75x',
    )
  })

  it('each missing extension is refused strictly, names the certificate, the rule and its tolerance, and is accepted with it', () => {
    const missing: [EkProfileTolerance, ExtensionSpec[], NameSpec, RegExp][] = [
      ['ek-missing-eku', [tpmSan(true), bcFalse, keyUsage([4])], [], /has no extKeyUsage/],
      ['ek-missing-key-usage', [tpmSan(true), bcFalse, ekEku], [], /has no keyUsage; the EK profile requires keyAgreement \(ECC EK\)/],
      ['ek-missing-basic-constraints', [tpmSan(true), keyUsage([4]), ekEku], [], /has no basicConstraints/],
      ['ek-missing-tpm-identity', [bcFalse, keyUsage([4]), ekEku], cn('instance-1'), /has no subjectAltName/],
    ]
    for (const [t, exts, subject, rule] of missing) {
      const c = build(exts, subject)
      let err: unknown
      try {
        checkEkCertificateProfile(c)
      } catch (e) {
        err = e
      }
      expect(err).toBeInstanceOf(X509Error)
      expect((err as X509Error).code).toBe('ERR_X509_PROFILE')
      expect((err as X509Error).message).toMatch(/^EK certificate \(serial 01, issuer CN=EK CA\): /)
      expect((err as X509Error).message).toMatch(rule)
      expect((err as X509Error).message).toContain(`(tolerance ${t} not enabled)`)
      // every other tolerance together does not help
      expect(() => evaluateEkCertificateProfile(c, { tolerate: EK_PROFILE_TOLERANCES.filter((x) => x !== t) })).toThrow(rule)
      expect(evaluateEkCertificateProfile(c, { tolerate: [t] }).tolerated).toEqual([t])
    }
  })

  it('reports only the tolerances a certificate needed, in a fixed order', () => {
    const bare = build([], cn('instance-1'))
    expect(evaluateEkCertificateProfile(bare, { tolerate: [...EK_PROFILE_TOLERANCES].reverse() })).toEqual({
      tolerated: ['ek-missing-eku', 'ek-missing-key-usage', 'ek-missing-basic-constraints', 'ek-missing-tpm-identity'],
    })
    expect(evaluateEkCertificateProfile(build(full()), { tolerate: EK_PROFILE_TOLERANCES }).tolerated).toEqual([])
  })

  it('refuses, whatever is tolerated: a CA, the wrong keyUsage, keyCertSign, another purpose, a non-critical SAN on an empty subject, a partial identity, no name at all', () => {
    const all = { tolerate: EK_PROFILE_TOLERANCES }
    const refused: [ExtensionSpec[], RegExp][] = [
      [[tpmSan(true), basicConstraints(true), keyUsage([4]), ekEku], /basicConstraints cA is true; an EK certificate is not a CA/],
      [[tpmSan(true), bcFalse, keyUsage([0]), ekEku], /keyUsage lacks keyAgreement \(ECC EK\)/],
      [[tpmSan(true), bcFalse, keyUsage([4, 6]), ekEku], /keyCertSign or cRLSign/],
      [[tpmSan(true), bcFalse, keyUsage([4]), eku(OID.serverAuth)], /extKeyUsage 1\.3\.6\.1\.5\.5\.7\.3\.1 lacks tcg-kp-EKCertificate/],
      [[tpmSan(false), bcFalse, keyUsage([4]), ekEku], /subject is empty but subjectAltName is not critical/],
      [
        [tpmSan(true, [OID.tpmManufacturer, OID.tpmModel]), bcFalse, keyUsage([4]), ekEku],
        /empty subject and no subjectAltName directoryName with the TPM identity/,
      ],
      [[bcFalse, keyUsage([4]), ekEku], /empty subject and no subjectAltName/],
    ]
    for (const [exts, rule] of refused) expect(() => evaluateEkCertificateProfile(build(exts), all)).toThrow(rule)
    // an RSA EK needs keyEncipherment, not keyAgreement
    expect(() => evaluateEkCertificateProfile(build([tpmSan(true), bcFalse, keyUsage([4]), ekEku], [], rsaEkKey), all)).toThrow(
      /keyUsage lacks keyEncipherment \(RSA EK\)/,
    )
  })

  it('property: any mix of the four optional extensions is accepted exactly when every missing one is tolerated', () => {
    const optional: [EkProfileTolerance, () => ExtensionSpec][] = [
      ['ek-missing-eku', () => ekEku],
      ['ek-missing-key-usage', () => keyUsage([4])],
      ['ek-missing-basic-constraints', () => bcFalse],
      ['ek-missing-tpm-identity', () => tpmSan(true)],
    ]
    // certificates built once per subset (16), tolerance sets drawn by fast-check
    const built = new Map<number, ReturnType<typeof build>>()
    for (let mask = 0; mask < 16; mask++) {
      const exts = optional.filter((_, i) => mask & (1 << i)).map(([, e]) => e())
      built.set(mask, build(exts, mask & 8 ? [] : cn('instance-1')))
    }
    fc.assert(
      fc.property(fc.nat({ max: 15 }), fc.subarray([...EK_PROFILE_TOLERANCES]), (mask, tolerate) => {
        const cert = built.get(mask)!
        const needed = optional.filter((_, i) => !(mask & (1 << i))).map(([t]) => t)
        const ok = needed.every((t) => tolerate.includes(t))
        let result: ReturnType<typeof evaluateEkCertificateProfile> | undefined
        try {
          result = evaluateEkCertificateProfile(cert, { tolerate })
        } catch (e) {
          if (!(e instanceof VerifyError) || e.code !== 'ERR_X509_PROFILE') throw e
        }
        expect(result !== undefined).toBe(ok)
        if (result) expect(result.tolerated).toEqual(needed)
      }),
      { numRuns: 2000 },
    )
  })
})
