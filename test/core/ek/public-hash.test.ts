import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parsePemCertificates } from '../../../core/bytes/pem.ts'
import { EK_TOLERANCES } from '../../../core/der/tolerance.ts'
import { checkEkCertificateProfile } from '../../../core/ek/certificate.ts'
import { ekPublicHash, ekPublicHashOfKey } from '../../../core/ek/public-hash.ts'
import { VerifyError } from '../../../core/errors.ts'
import { parseCertificate } from '../../../core/x509/certificate.ts'
import { verifyChain } from '../../../core/x509/verify.ts'
import { NV_EK_CERT_RSA, run, startSwtpm, type Swtpm } from '../../support/swtpm.ts'

const DIR = new URL('../../vectors/real-tpm-ek/', import.meta.url)

function opensslHash(path: string, inform: 'PEM' | 'DER'): string {
  return execFileSync('sh', [
    '-c',
    `openssl x509 -inform ${inform} -in '${path}' -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum`,
  ])
    .toString()
    .split(' ')[0]!
}

describe('ekPublicHash', () => {
  for (const f of [
    'keylime-keylime/extracted/tpm2_objects_test/ifx_slb9670_rsa_ek_cert.der',
    'keylime-keylime/extracted/test_cert_utils/st_ecdsa_sha256_der.der',
    'google-go-tpm-tools/internal/test/certificates/uca_tpm_rsa_enc_cert.pem',
  ]) {
    it(`equals the openssl pipeline for ${f.split('/').pop()}`, async () => {
      const bytes = new Uint8Array(readFileSync(new URL(f, DIR)))
      const pem = f.endsWith('.pem')
      const der = pem ? parsePemCertificates(new TextDecoder().decode(bytes))[0]! : bytes
      const cert = parseCertificate(der, { tolerate: EK_TOLERANCES })
      const want = opensslHash(fileURLToPath(new URL(f, DIR)), pem ? 'PEM' : 'DER')
      expect(await ekPublicHash(cert.spki)).toBe(want)
      expect(await ekPublicHashOfKey(cert.publicKey)).toBe(want)
    })
  }

  it('rejects bytes that are not an SPKI', async () => {
    await expect(ekPublicHash(Uint8Array.of(0x30, 0x00))).rejects.toBeInstanceOf(VerifyError)
  })
})

describe('swtpm EK chain (EK <- swtpm-localca <- swtpm-localca-rootca)', () => {
  let tpm: Swtpm
  beforeAll(async () => {
    tpm = await startSwtpm({ name: 'x509-ek' })
  })
  afterAll(async () => {
    await tpm?.stop()
  })

  it('the NV EK certificates verify with the ek profile, and the hash equals openssl', async () => {
    const files = readdirSync(tpm.stateDir).filter((f) => f.endsWith('.crt'))
    expect(files.length).toBeGreaterThanOrEqual(2)
    for (const f of files) {
      const der = new Uint8Array(readFileSync(join(tpm.stateDir, f)))
      const chain = await verifyChain(
        {
          leaf: der,
          intermediates: parsePemCertificates(tpm.ekCa.intermediatePem),
          anchors: parsePemCertificates(tpm.ekCa.rootPem),
          profile: 'ek',
        },
        {},
      )
      expect(chain.path.map((c) => c.subject.rdns.map((r) => r[0]!.value).join(','))).toEqual([
        'unknown',
        'swtpm-localca',
        'swtpm-localca-rootca',
      ])
      const leaf = chain.path[0]!
      expect(checkEkCertificateProfile(leaf)).toEqual({ manufacturer: 'id:00001014', model: 'swtpm', version: 'id:20191023' })
      expect(await ekPublicHash(leaf.spki)).toBe(opensslHash(join(tpm.stateDir, f), 'DER'))
      // strict (profile none) rejects the critical directoryName-only SAN, as Go does
      await expect(
        verifyChain({
          leaf: der,
          intermediates: parsePemCertificates(tpm.ekCa.intermediatePem),
          anchors: parsePemCertificates(tpm.ekCa.rootPem),
        }),
      ).rejects.toMatchObject({ code: 'ERR_X509_UNKNOWN_CRITICAL_EXTENSION' })
    }
  })

  it('the RSA EK certificate read from NV 0x01c00002 is the certificate of the TPM EK', async () => {
    const out = join(tpm.workDir, 'ek-nv.der')
    await run('tpm2_nvread', ['-C', 'o', `0x${NV_EK_CERT_RSA.toString(16)}`, '-o', out], { env: tpm.env })
    const cert = parseCertificate(new Uint8Array(readFileSync(out)), { allowTrailingData: true })
    const pemPath = join(tpm.workDir, 'ek.pem')
    await run('tpm2_createek', ['-c', join(tpm.workDir, 'ek.ctx'), '-G', 'rsa', '-u', pemPath, '-f', 'pem'], { env: tpm.env })
    await run('tpm2_flushcontext', ['-t'], { env: tpm.env })
    const tpmSpki = execFileSync('openssl', ['pkey', '-pubin', '-in', pemPath, '-outform', 'DER'])
    writeFileSync(join(tpm.workDir, 'ek.spki.der'), tpmSpki)
    expect(await ekPublicHash(cert.spki)).toBe(await ekPublicHash(new Uint8Array(tpmSpki)))
  })
})
