/**
 * Real EK / AK certificate chains (STMicro, Nuvoton, Infineon, Intel, GCE vTPM) from the real-TPM
 * corpus: each verifies with the verdict the manifest names; each needs exactly the tolerances
 * listed in cases.json, and fails without any one of them.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parsePemCertificates } from '../../../core/bytes/pem.ts'
import { EK_TOLERANCES, type Tolerance } from '../../../core/der/tolerance.ts'
import { checkEkCertificateProfile, EK_PROFILE_TOLERANCES, evaluateEkCertificateProfile } from '../../../core/ek/certificate.ts'
import { VerifyError } from '../../../core/errors.ts'
import { parseCertificate } from '../../../core/x509/certificate.ts'
import { verifyChain, type ChainProfile } from '../../../core/x509/verify.ts'

const DIR = new URL('../../vectors/real-tpm-ek/', import.meta.url)
interface Case {
  id: string
  leaf: string
  intermediates: string[]
  anchor: string
  tolerances: Tolerance[]
  ekProfile: boolean
  chainValid: boolean
  /** EK-profile tolerances the leaf needs; null: not an EK certificate */
  ekProfileTolerances: string[] | null
}
const doc = JSON.parse(readFileSync(new URL('cases.json', DIR), 'utf8')) as { at: string; cases: Case[] }
const at = Date.parse(doc.at)

function loadCert(path: string): Uint8Array {
  const bytes = new Uint8Array(readFileSync(new URL(path, DIR)))
  const text = new TextDecoder('latin1').decode(bytes)
  return text.includes('-----BEGIN') ? parsePemCertificates(text)[0]! : bytes
}

async function verdict(c: Case, tolerate: readonly Tolerance[], profile: ChainProfile = 'ek'): Promise<string> {
  try {
    await verifyChain(
      { leaf: loadCert(c.leaf), intermediates: c.intermediates.map(loadCert), anchors: [loadCert(c.anchor)], at, profile },
      { tolerate },
    )
    return 'valid'
  } catch (e) {
    if (e instanceof VerifyError) return e.code
    throw e
  }
}

describe('real EK chains', () => {
  it('covers the manifest cases', () => {
    expect(doc.cases.length).toBe(14)
  })
  for (const c of doc.cases) {
    it(`${c.id}: ${c.chainValid ? 'valid' : 'invalid'} with the ek profile`, async () => {
      expect(await verdict(c, EK_TOLERANCES)).toBe(c.chainValid ? 'valid' : expect.any(String))
      // exactly the listed tolerances are needed
      expect(await verdict(c, c.tolerances)).toBe('valid')
      for (const t of c.tolerances) {
        expect(
          await verdict(
            c,
            c.tolerances.filter((x) => x !== t),
          ),
          `without ${t}`,
        ).not.toBe('valid')
      }
      if (c.ekProfile) {
        const id = checkEkCertificateProfile(parseCertificate(loadCert(c.leaf), { tolerate: EK_TOLERANCES }))
        expect(id.manufacturer).toMatch(/^id:[0-9A-F]{8}$/)
      }
    })
  }

  for (const c of doc.cases) {
    const need = c.ekProfileTolerances
    it(`${c.id}: EK credential profile ${need === null ? 'refused under every tolerance' : need.length === 0 ? 'strict' : `with ${need.join(', ')}`}`, () => {
      const leaf = parseCertificate(loadCert(c.leaf), { tolerate: EK_TOLERANCES })
      const profileCode = (tolerate: readonly string[]) => {
        try {
          evaluateEkCertificateProfile(leaf, { tolerate })
          return 'accepted'
        } catch (e) {
          if (e instanceof VerifyError) return e.code
          throw e
        }
      }
      if (need === null) {
        expect(profileCode(EK_PROFILE_TOLERANCES)).toBe('ERR_X509_PROFILE')
        return
      }
      expect(evaluateEkCertificateProfile(leaf, { tolerate: need }).tolerated).toEqual(need)
      if (need.length > 0) expect(profileCode([])).toBe('ERR_X509_PROFILE')
      for (const t of need) expect(profileCode(need.filter((x) => x !== t)), `without ${t}`).toBe('ERR_X509_PROFILE')
    })
  }

  it('TCG-profile EK leaves need the ek profile for their critical directoryName-only SAN', async () => {
    const tcg = doc.cases.filter((c) => c.ekProfile)
    expect(tcg.length).toBeGreaterThan(0)
    for (const c of tcg) expect(await verdict(c, EK_TOLERANCES, 'none')).toBe('ERR_X509_UNKNOWN_CRITICAL_EXTENSION')
  })

  it('GCE cross-chains do not verify (uca leaf via the pca intermediate)', async () => {
    const uca = doc.cases.find((c) => c.id === 'gce-uca_tpm_rsa_enc_cert.pem')!
    const pca = doc.cases.find((c) => c.id === 'gce-pca_tpm_rsa_enc_cert.pem')!
    expect(await verdict({ ...uca, intermediates: pca.intermediates, anchor: pca.anchor }, EK_TOLERANCES)).toBe('ERR_X509_NO_PATH')
    // tpm_ek_intermediate_2 is another signer of the same root
    expect(await verdict({ ...uca, intermediates: ['google-go-tpm-tools/server/ca-certs/tpm_ek_intermediate_2.crt'] }, EK_TOLERANCES)).toBe(
      'ERR_X509_NO_PATH',
    )
  })
})

describe('real IDevID / IAK chain (keylime "Isaac HPE" test CA, keys in an STMicro TPM)', () => {
  const chain = parsePemCertificates(
    readFileSync(new URL('keylime-keylime/test-data/files/idevid-test-ca/iak_idevid_chain.pem', DIR), 'latin1'),
  )
  for (const f of ['isaac_hpe_idevid.der', 'isaac_hpe_iak.der']) {
    it(`${f}: RSASSA-PSS key, hardwareModuleName SAN, verifies strictly and with profile devid`, async () => {
      const leaf = loadCert(`keylime-keylime/extracted/test_cert_utils/${f}`)
      const c = parseCertificate(leaf)
      expect(c.publicKey.kty).toBe('RSA')
      expect(c.subjectAltName?.[0]).toMatchObject({ type: 'otherName', typeId: '1.3.6.1.5.5.7.8.4' })
      for (const profile of ['none', 'devid'] as const) {
        const r = await verifyChain({
          leaf,
          intermediates: [chain[0]!],
          anchors: [chain[1]!],
          at: Date.parse('2025-01-01T00:00:00Z'),
          profile,
        })
        expect(r.path).toHaveLength(3)
      }
      // the certificates expired on 2026-05-18
      await expect(
        verifyChain({ leaf, intermediates: [chain[0]!], anchors: [chain[1]!], at: Date.parse('2026-06-01T00:00:00Z') }),
      ).rejects.toMatchObject({ code: 'ERR_X509_EXPIRED' })
    })
  }
})
