import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parsePemCertificates } from '../../../core/bytes/pem.ts'
import { toHex } from '../../../core/bytes/encoding.ts'
import { OID } from '../../../core/der/oid.ts'
import { ALL_TOLERANCES, EK_TOLERANCES, type Tolerance } from '../../../core/der/tolerance.ts'
import { VerifyError } from '../../../core/errors.ts'
import { parseCertificate } from '../../../core/x509/certificate.ts'
import { KEY_USAGE } from '../../../core/x509/extensions.ts'
import { fingerprintSha1 } from '../../../core/x509/fingerprint.ts'
import { commonName, formatName } from '../../../core/x509/name.ts'

const DIR = new URL('../../vectors/real-tpm-ek/', import.meta.url)
const path = (p: string) => fileURLToPath(new URL(p, DIR))
function load(p: string): Uint8Array {
  const bytes = new Uint8Array(readFileSync(new URL(p, DIR)))
  const text = new TextDecoder('latin1').decode(bytes)
  return text.includes('-----BEGIN') ? parsePemCertificates(text)[0]! : bytes
}

const STM_PADDED = 'keylime-keylime/extracted/test_cert_utils/st_sha256_with_rsa_der.ff_padded.der'
const STM_ECC = 'keylime-keylime/extracted/test_cert_utils/st_ecdsa_sha256_der.der'
const NUVOTON = 'keylime-keylime/extracted/test_registrar/nuvoton_npct75x_rsa_ek.nonDER.der'
const IFX_RSA = 'keylime-keylime/extracted/tpm2_objects_test/ifx_slb9670_rsa_ek_cert.der'
const INTEL = 'loicsikidi-go-tpm-kit/tpmtest/testutil/ek/testdata/intel-ekcert.pem'
const INTEL_ODCA = 'tpm2-software-tpm2-tss/extracted/fapi_root_certs/31_Intel_ODCA_root.pem'
const STM_OLD = 'google-go-tspi/extracted/verification_go_at_115dea6/STM1_nonminimal_serial.pem'
const ALIBABA = 'keylime-keylime/tpm_cert_store/Alibaba_Cloud_vTPM_EK.pem'
const GCE_EK = 'google-go-tpm-tools/internal/test/certificates/uca_tpm_ecc_enc_cert.pem'

function code(f: () => unknown): string {
  try {
    f()
    return 'ok'
  } catch (e) {
    if (e instanceof VerifyError) return e.code
    throw e
  }
}

describe('parseCertificate', () => {
  it('decodes the fields of a real ECC EK certificate', () => {
    const c = parseCertificate(load(STM_ECC))
    expect(c.version).toBe(3)
    expect(c.subject.rdns).toHaveLength(0)
    expect(commonName(c.issuer)).toBe('STM TPM ECC Intermediate CA 01')
    expect(c.signatureAlgorithm.scheme).toEqual({ name: 'ECDSA', hash: 'SHA-256' })
    expect(c.publicKey.kty).toBe('EC')
    expect(c.publicKey.kty === 'EC' && c.publicKey.crv).toBe('P-256')
    expect(c.keyUsage! & KEY_USAGE.keyAgreement).toBeTruthy()
    expect(c.subjectAltName?.[0]?.type).toBe('directoryName')
    expect(c.unhandledCriticalExtensions).toEqual([OID.subjectAltName])
    expect(c.extensions.find((e) => e.oid === OID.subjectAltName)?.critical).toBe(true)
    expect(c.notBefore).toBeLessThan(c.notAfter)
    // the TBS bytes are a prefix region of raw, and raw is the whole input
    expect(c.raw).toEqual(load(STM_ECC))
    expect(toHex(c.raw).includes(toHex(c.tbsRaw))).toBe(true)
    expect(toHex(c.raw).includes(toHex(c.spki))).toBe(true)
  })

  it('matches openssl on serial, dates, issuer and SPKI of every vendor certificate', () => {
    for (const f of [
      STM_ECC,
      IFX_RSA,
      GCE_EK,
      'keylime-keylime/tpm_cert_store/GS_TPM_RT.pem',
      'keylime-keylime/tpm_cert_store/INTEL_I.pem',
    ]) {
      const c = parseCertificate(load(f), { tolerate: EK_TOLERANCES })
      const inform = f.endsWith('.der') ? 'DER' : 'PEM'
      const out = execFileSync('openssl', [
        'x509',
        '-inform',
        inform,
        '-in',
        path(f),
        '-noout',
        '-serial',
        '-startdate',
        '-enddate',
      ]).toString()
      const serial = /serial=([0-9A-F]+)/.exec(out)![1]!
      expect(
        toHex(c.serialNumber)
          .toUpperCase()
          .replace(/^0+(?=.)/, ''),
      ).toBe(serial.replace(/^0+(?=.)/, ''))
      expect(c.notBefore).toBe(Date.parse(/notBefore=(.*)/.exec(out)![1]!))
      expect(c.notAfter).toBe(Date.parse(/notAfter=(.*)/.exec(out)![1]!))
      const spki = execFileSync('sh', [
        '-c',
        `openssl x509 -inform ${inform} -in '${path(f)}' -pubkey -noout | openssl pkey -pubin -outform DER | xxd -p | tr -d '\\n'`,
      ]).toString()
      expect(toHex(c.spki)).toBe(spki)
    }
  })

  it('fingerprintSha1 is the SHA-1 of the DER (openssl -fingerprint)', async () => {
    const out = execFileSync('openssl', ['x509', '-inform', 'DER', '-in', path(STM_ECC), '-noout', '-fingerprint', '-sha1']).toString()
    expect(await fingerprintSha1(load(STM_ECC))).toBe(out.split('=')[1]!.trim().replace(/:/g, '').toLowerCase())
  })

  it('formats names for messages', () => {
    const c = parseCertificate(load(GCE_EK))
    expect(formatName(c.subject)).toBe('(empty)')
    expect(formatName(c.issuer)).toMatch(/^C=US,ST=California,.*CN=tpm_ek_v1/)
  })
})

/** Each named tolerance: the strict parser rejects the real certificate, the tolerant one accepts it. */
const TOLERANCE_CASES: { tolerance: Tolerance; file: string; alsoNeeds: Tolerance[]; strictCode: string }[] = [
  { tolerance: 'trailing-data', file: STM_PADDED, alsoNeeds: [], strictCode: 'ERR_DER_TRAILING_DATA' },
  { tolerance: 'unsorted-set', file: NUVOTON, alsoNeeds: [], strictCode: 'ERR_DER_MALFORMED' },
  { tolerance: 'explicit-default', file: INTEL, alsoNeeds: ['untrimmed-bit-string'], strictCode: 'ERR_DER_MALFORMED' },
  { tolerance: 'untrimmed-bit-string', file: IFX_RSA, alsoNeeds: [], strictCode: 'ERR_DER_MALFORMED' },
  { tolerance: 'ecdsa-null-parameters', file: INTEL_ODCA, alsoNeeds: [], strictCode: 'ERR_X509_MALFORMED' },
  { tolerance: 'non-minimal-integer', file: STM_OLD, alsoNeeds: ['untrimmed-bit-string'], strictCode: 'ERR_DER_MALFORMED' },
  { tolerance: 'generalized-time-before-2050', file: ALIBABA, alsoNeeds: [], strictCode: 'ERR_DER_MALFORMED' },
]

describe('named tolerances on real certificates', () => {
  for (const t of TOLERANCE_CASES) {
    it(`${t.tolerance}: strict rejects ${t.file.split('/').pop()}, tolerant accepts`, () => {
      const der = load(t.file)
      expect(code(() => parseCertificate(der, { tolerate: t.alsoNeeds }))).toBe(t.strictCode)
      expect(code(() => parseCertificate(der, { tolerate: [...t.alsoNeeds, t.tolerance] }))).toBe('ok')
    })
  }

  it('allowTrailingData is the trailing-data tolerance; the trimmed certificate is the DER prefix', () => {
    const padded = load(STM_PADDED)
    const c = parseCertificate(padded, { allowTrailingData: true })
    expect(padded.length).toBe(1600)
    expect(c.raw.length).toBe(1169)
    expect(padded.subarray(1169).every((b) => b === 0xff)).toBe(true)
  })

  it('every tolerance has a test', () => {
    const covered = new Set<string>(TOLERANCE_CASES.map((t) => t.tolerance))
    // path-validation tolerances are tested in verify-tolerance.test.ts
    for (const t of ['missing-key-identifier', 'non-critical-basic-constraints', 'serial-number-range']) covered.add(t)
    expect([...ALL_TOLERANCES].sort()).toEqual([...covered].sort())
  })
})

describe('parseCertificate fuzz', () => {
  const seeds = [STM_ECC, NUVOTON, IFX_RSA, INTEL, GCE_EK, STM_PADDED].map(load)
  it('mutated real certificates: a valid parse or a VerifyError, never another exception (10,000 runs)', () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('truncate' as const), at: fc.nat(), value: fc.constant(0) }),
      fc.record({ kind: fc.constant('extend' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), value: fc.constant(0) }),
    )
    fc.assert(
      fc.property(
        fc.nat({ max: seeds.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.boolean(),
        (si, muts, tolerant) => {
          let b: Uint8Array = seeds[si]!.slice()
          for (const m of muts) {
            const at = m.at % (b.length + 1)
            if (m.kind === 'flip' && b.length) b[at % b.length] = m.value
            else if (m.kind === 'truncate') b = b.subarray(0, at)
            else if (m.kind === 'extend') b = Uint8Array.from([...b.subarray(0, at), m.value, ...b.subarray(at)])
            else if (m.kind === 'delete') b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + 1)])
          }
          try {
            const c = parseCertificate(b, tolerant ? { tolerate: ALL_TOLERANCES } : {})
            expect(c.raw.length).toBeGreaterThan(0)
          } catch (e) {
            if (!(e instanceof VerifyError)) throw e
          }
        },
      ),
      { numRuns: 10_000 },
    )
  })
})
