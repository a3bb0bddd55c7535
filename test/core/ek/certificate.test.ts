import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parsePemCertificates } from '../../../core/bytes/pem.ts'
import { OID } from '../../../core/der/oid.ts'
import { EK_TOLERANCES } from '../../../core/der/tolerance.ts'
import { checkEkCertificateProfile, parseTpmIdentity } from '../../../core/ek/certificate.ts'
import { parseCertificate } from '../../../core/x509/certificate.ts'
import { encodeSequence, encodeTlv } from '../../../core/der/writer.ts'
import { contextTag } from '../../../core/der/reader.ts'
import { basicConstraints, buildCert, cn, encodeName, ext, keyUsage, makeKey, type NameSpec } from '../../support/x509-builder.ts'

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
    it(`${file.split('/').pop()}: ${want.manufacturer} ${want.model}`, () => {
      const c = load(file)
      expect(parseTpmIdentity(c)).toEqual(want)
      expect(checkEkCertificateProfile(c)).toEqual(want)
    })
  }

  it('STMicro ECC EK: keyAgreement', () => {
    const c = load('keylime-keylime/extracted/test_cert_utils/st_ecdsa_sha256_der.der')
    expect(checkEkCertificateProfile(c).manufacturer).toBe('id:53544D20')
  })

  it('rejects non-EK certificates: a CA, an AK cert, a cert without SAN', () => {
    expect(() => checkEkCertificateProfile(load('keylime-keylime/tpm_cert_store/STM_RSA_05I.pem'))).toThrow(/not a CA/)
    // GCE AK cert (signing key): digitalSignature only
    expect(() => checkEkCertificateProfile(load('google-go-tpm-tools/internal/test/certificates/uca_tpm_rsa_sign_cert.pem'))).toThrow(
      /keyEncipherment/,
    )
    expect(() => checkEkCertificateProfile(load('google-go-tpm-tools/internal/test/certificates/pca_tpm_rsa_enc_cert.pem'))).toThrow(
      /no subjectAltName/,
    )
    expect(parseTpmIdentity(load('google-go-tpm-tools/internal/test/certificates/pca_tpm_rsa_enc_cert.pem'))).toBeUndefined()
  })
})

describe('EK profile rules (built certificates)', () => {
  const caKey = makeKey()
  const ekKey = makeKey()
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
  const ekEku = ext(OID.extKeyUsage, encodeSequence(Uint8Array.of(0x06, 0x05, 0x67, 0x81, 0x05, 0x08, 0x01)))
  const build = (extensions: ReturnType<typeof ext>[], subject: NameSpec = []) =>
    parseCertificate(buildCert({ subject, key: ekKey, issuer, extensions }))

  it('accepts any attribute order and a non-empty subject with a non-critical SAN', () => {
    expect(
      checkEkCertificateProfile(build([tpmSan(true, [OID.tpmVersion, OID.tpmManufacturer, OID.tpmModel]), keyUsage([4]), ekEku])).model,
    ).toBe('NPCT75x')
    expect(checkEkCertificateProfile(build([tpmSan(false), keyUsage([4])], cn('unknown'))).version).toBe('id:00070002')
  })

  it('requires a critical SAN when the subject is empty', () => {
    expect(() => checkEkCertificateProfile(build([tpmSan(false), keyUsage([4])]))).toThrow(/not critical/)
  })

  it('requires all three TPM attributes, the EK EKU when an EKU is present, and the right keyUsage', () => {
    expect(() => checkEkCertificateProfile(build([tpmSan(true, [OID.tpmManufacturer, OID.tpmModel])]))).toThrow(
      /tpmManufacturer, tpmModel and tpmVersion/,
    )
    const serverAuth = ext(OID.extKeyUsage, encodeSequence(Uint8Array.of(0x06, 0x08, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x01)))
    expect(() => checkEkCertificateProfile(build([tpmSan(true), serverAuth]))).toThrow(/2\.23\.133\.8\.1/)
    expect(() => checkEkCertificateProfile(build([tpmSan(true), keyUsage([0])]))).toThrow(/keyAgreement/)
    expect(() => checkEkCertificateProfile(build([tpmSan(true), basicConstraints(true), keyUsage([4, 5])]))).toThrow(/not a CA/)
  })
})
