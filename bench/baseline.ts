// The pkijs/asn1js baseline: the same tpm_devid server checks as a TypeScript developer would first
// write them. Certificates are parsed with pkijs (Certificate.fromBER), both chains are validated
// with pkijs' CertificateChainValidationEngine, and keys are imported from SPKI into Web Crypto on
// every attestation. No JavaScript library parses TPM structures, so the TPM2_Certify check and
// MakeCredential use vouch's core on the default Web Crypto platform, as such a developer would.
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import { fromBase64 } from '../core/bytes/encoding.ts'
import { parsePemCertificates } from '../core/bytes/pem.ts'
import { computeName } from '../core/tpm2/name.ts'
import { parseTpmtPublic } from '../core/tpm2/public.ts'
import { parseTpmsAttest } from '../core/tpm2/attest.ts'
import { parseTpmtSignature } from '../core/tpm2/signature.ts'
import { verifyCertify } from '../core/tpm2/certify.ts'
import { makeCredential } from '../core/credential/make-credential.ts'
import { credentialEkFromTpmtPublic } from '../core/credential/ek.ts'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { FIXTURE_DIR } from '../test/support/swtpm.ts'
import type { AttestationWorkload } from './workloads.ts'

const pem = (p: string) => parsePemCertificates(readFileSync(join(FIXTURE_DIR, p), 'utf8'))[0]!
const ab = (b: Uint8Array) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer
const parse = (der: Uint8Array) => pkijs.Certificate.fromBER(ab(der))

async function validate(leaf: Uint8Array, intermediates: Uint8Array[], roots: Uint8Array[]): Promise<pkijs.Certificate> {
  const leafCert = parse(leaf)
  const engine = new pkijs.CertificateChainValidationEngine({
    trustedCerts: roots.map(parse),
    certs: [leafCert, ...intermediates.map(parse)],
    checkDate: new Date(),
  })
  const r = await engine.verify()
  if (!r.result) throw new Error(`pkijs chain: ${r.resultMessage}`)
  return leafCert
}

export function baselineFor(w: AttestationWorkload): () => Promise<void> {
  const ev = w.evidence as Record<string, string | string[]>
  const devIdRoots = [pem('devid-ca/root.pem'), pem('devid-ca-rsa/root.pem')]
  const ekRoots = [pem('ek-ca/swtpm-localca-rootca-cert.pem'), pem('ek-ca/issuercert.pem')]
  const answer = w.answers.tpm_devid as Record<string, string>
  const subtle = globalThis.crypto.subtle
  return async () => {
    const devIdCerts = (ev.DevIDCert as string[]).map((b) => fromBase64(b))
    const leaf = await validate(devIdCerts[0]!, devIdCerts.slice(1), devIdRoots)
    const ekDer = fromBase64(ev.EKCert as string)
    const asn = asn1js.fromBER(ab(ekDer))
    await validate(new Uint8Array(asn.result.valueBeforeDecodeView), [], ekRoots)
    // TPM side (vouch core, Web Crypto)
    const devIdPub = parseTpmtPublic(fromBase64(ev.DevIDPub as string))
    const ak = parseTpmtPublic(fromBase64(ev.AKPub as string))
    await verifyCertify({
      signer: ak,
      attest: parseTpmsAttest(fromBase64(ev.CertifiedDevID as string)),
      signature: parseTpmtSignature(fromBase64(ev.CertificationSignature as string)),
      certified: devIdPub,
    })
    const ekPub = parseTpmtPublic(fromBase64(ev.EKPub as string))
    await makeCredential({
      ekPublic: credentialEkFromTpmtPublic(ekPub),
      akName: await computeName(ak),
      secret: new Uint8Array(32).fill(0x5a),
    })
    // proof of possession with the leaf key, imported from SPKI
    const spki = leaf.subjectPublicKeyInfo.toSchema().toBER(false)
    const ec = leaf.subjectPublicKeyInfo.algorithm.algorithmId === '1.2.840.10045.2.1'
    const key = await subtle.importKey(
      'spki',
      spki,
      ec ? { name: 'ECDSA', namedCurve: 'P-256' } : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
      false,
      ['verify'],
    )
    let sig = fromBase64(answer.DevID!)
    if (ec) {
      const s = asn1js.fromBER(ab(sig)).result as asn1js.Sequence
      const part = (i: number) => {
        const v = new Uint8Array((s.valueBlock.value[i] as asn1js.Integer).valueBlock.valueHexView)
        const t = v.length > 32 ? v.subarray(v.length - 32) : v
        const out = new Uint8Array(32)
        out.set(t, 32 - t.length)
        return out
      }
      sig = new Uint8Array([...part(0), ...part(1)])
    }
    const msg = new Uint8Array([...new Uint8Array(32).fill(0x5a), ...w.binding])
    if (!(await subtle.verify(ec ? { name: 'ECDSA', hash: 'SHA-256' } : 'RSASSA-PKCS1-v1_5', key, sig, msg)))
      throw new Error('baseline: PoP')
  }
}
