import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { defaultPlatform } from '../../../core/platform.ts'
import { makeCertificationRequest } from '../../../core/x509/make-csr.ts'
import { verifyCertificationRequest } from '../../../server/ca/csr.ts'

const platform = defaultPlatform()

/** openssl's verdict on a DER CSR: its self-signature check and its text dump. */
function openssl(csr: Uint8Array): { ok: boolean; text: string } {
  const path = join(mkdtempSync(join(tmpdir(), 'vouch-make-csr-')), 'r.der')
  writeFileSync(path, csr)
  const r = spawnSync('openssl', ['req', '-in', path, '-inform', 'DER', '-verify', '-noout', '-text'], { encoding: 'utf8' })
  return { ok: r.status === 0 && /verify OK/i.test(r.stderr + r.stdout), text: r.stdout }
}

async function keyPair(alg: 'P-256' | 'P-384' | 'RSA'): Promise<{ pair: CryptoKeyPair; spki: Uint8Array }> {
  const params =
    alg === 'RSA'
      ? { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash: 'SHA-256' }
      : { name: 'ECDSA', namedCurve: alg }
  const pair = (await crypto.subtle.generateKey(params, true, ['sign', 'verify'])) as CryptoKeyPair
  return { pair, spki: new Uint8Array(await crypto.subtle.exportKey('spki', pair.publicKey)) }
}

describe('makeCertificationRequest (PKCS#10, RFC 2986)', () => {
  for (const alg of ['P-256', 'P-384', 'RSA'] as const) {
    it(`${alg}: openssl verifies the self-signature and reads the subject; the CA's verifier yields the same key`, async () => {
      const { pair, spki } = await keyPair(alg)
      const csr = await makeCertificationRequest(
        [
          { type: 'CN', value: 'workload' },
          { type: 'O', value: 'vouch' },
        ],
        spki,
        pair.privateKey,
      )
      const o = openssl(csr)
      expect(o.ok, o.text).toBe(true)
      expect(o.text).toMatch(/Subject: CN ?= ?workload, O ?= ?vouch/)
      expect(o.text).toContain(alg === 'RSA' ? 'sha256WithRSAEncryption' : alg === 'P-256' ? 'ecdsa-with-SHA256' : 'ecdsa-with-SHA384')
      expect((await verifyCertificationRequest(csr, platform)).spki).toEqual(spki)
      // openssl re-encodes it byte for byte (DER, no attributes)
      const path = join(mkdtempSync(join(tmpdir(), 'vouch-make-csr-')), 'r.der')
      writeFileSync(path, csr)
      expect(new Uint8Array(execFileSync('openssl', ['req', '-in', path, '-inform', 'DER', '-outform', 'DER']))).toEqual(csr)
    })
  }

  it('a CSR signed by another key than the one it names fails openssl and the CA verifier (no proof of possession)', async () => {
    const a = await keyPair('P-256')
    const b = await keyPair('P-256')
    const csr = await makeCertificationRequest([{ type: 'CN', value: 'x' }], a.spki, b.pair.privateKey)
    expect(openssl(csr).ok).toBe(false)
    await expect(verifyCertificationRequest(csr, platform)).rejects.toMatchObject({ code: 'ERR_X509_SIGNATURE_INVALID' })
  })

  it('takes a CertificateSigner (a key that is not a Web Crypto key) and refuses a public key as signer', async () => {
    const { pair, spki } = await keyPair('P-256')
    const { signerFor } = await import('../../../core/x509/make-certificate.ts')
    const inner = signerFor(pair.privateKey)
    let calls = 0
    const csr = await makeCertificationRequest([{ type: 'CN', value: 'tpm' }], spki, {
      algorithmIdentifier: inner.algorithmIdentifier,
      sign: (tbs) => {
        calls++
        return inner.sign(tbs)
      },
    })
    expect(calls).toBe(1)
    expect(openssl(csr).ok).toBe(true)
    await expect(makeCertificationRequest([], spki, pair.publicKey)).rejects.toThrow('issuerPrivateKey must be a private key')
  })
})
