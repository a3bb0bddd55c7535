// The native floor: exactly the cryptographic operations of one attestation, done with node:crypto
// (OpenSSL) on keys decoded in advance and with no parsing: signature verifications, RSA-OAEP or
// ECDH, KDFa HMACs, AES-128-CFB, the outer HMAC, the proof HMAC and the hashes. What no
// implementation in this process can beat.
import { constants, createECDH, createHash, createHmac, createPublicKey, publicEncrypt, verify, type KeyObject } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fromBase64 } from '../core/bytes/encoding.ts'
import { bytesEqual } from '../core/bytes/equal.ts'
import { parsePemCertificates } from '../core/bytes/pem.ts'
import type { SignatureScheme } from '../core/crypto/provider.ts'
import { parseTpmtPublic } from '../core/tpm2/public.ts'
import { publicKeyFromTpmtPublic } from '../core/tpm2/public-key.ts'
import { parseTpmtSignature } from '../core/tpm2/signature.ts'
import { TPM_ALG } from '../core/tpm2/constants.ts'
import { parseCertificate, type Certificate } from '../core/x509/certificate.ts'
import { publicKeyToJwk } from '../core/crypto/webcrypto.ts'
import { FIXTURE_DIR } from '../test/support/swtpm.ts'
import { aesCfb } from '../runtimes/node/crypto-provider.ts'
import { parseEventLog } from '../core/eventlog/parse.ts'
import type { AttestationWorkload, BootWorkload } from './workloads.ts'

const H: Record<string, string> = { 'SHA-1': 'sha1', 'SHA-256': 'sha256', 'SHA-384': 'sha384', 'SHA-512': 'sha512' }

interface SigCheck {
  key: KeyObject
  scheme: SignatureScheme
  data: Uint8Array
  sig: Uint8Array
  dsaEncoding: 'der' | 'ieee-p1363'
}

const check = (c: SigCheck) => {
  const opts =
    c.scheme.name === 'RSA-PSS'
      ? { key: c.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: c.scheme.saltLength }
      : { key: c.key, dsaEncoding: c.dsaEncoding }
  if (!verify(H[c.scheme.hash]!, c.data, opts, c.sig)) throw new Error('floor: signature does not verify')
}

const certCheck = (cert: Certificate, issuer: Certificate): SigCheck => ({
  key: createPublicKey({ key: Buffer.from(issuer.spki), format: 'der', type: 'spki' }),
  scheme: cert.signatureAlgorithm.scheme,
  data: cert.tbsRaw,
  sig: cert.signature,
  dsaEncoding: 'der',
})

const pemCert = (p: string) => parseCertificate(parsePemCertificates(readFileSync(join(FIXTURE_DIR, p), 'utf8'))[0]!)

/**
 * The floor of one workload: `{ full, cachedIntermediates }`, each a synchronous function, and
 * how many signatures each verifies (a test holds vouch to the same count).
 */
export function floorFor(w: AttestationWorkload): {
  full: () => void
  cachedIntermediates: () => void
  signatures: { full: number; cachedIntermediates: number }
} {
  const ev = w.evidence as Record<string, string | string[]>
  const devid = (ev.DevIDCert as string[]).map((b) => parseCertificate(fromBase64(b)))
  // the DevID root that issued this chain's top certificate: P-256 (devid-ca) or RSA (devid-ca-rsa)
  const devidRoot = [pemCert('devid-ca/root.pem'), pemCert('devid-ca-rsa/root.pem')].find((r) =>
    bytesEqual(r.subjectRaw, devid.at(-1)!.issuerRaw),
  )!
  const ekCert = parseCertificate(fromBase64(ev.EKCert as string), { allowTrailingData: true })
  const ekInt = pemCert('ek-ca/issuercert.pem')
  const ekRoot = pemCert('ek-ca/swtpm-localca-rootca-cert.pem')
  const leafChecks = [certCheck(devid[0]!, devid[1] ?? devidRoot), certCheck(ekCert, ekInt)]
  const intermediateChecks = [...(devid[1] ? [certCheck(devid[1], devidRoot)] : []), certCheck(ekInt, ekRoot)]

  const ak = parseTpmtPublic(fromBase64(ev.AKPub as string))
  const akKey = createPublicKey({ key: publicKeyToJwk(publicKeyFromTpmtPublic(ak)) as never, format: 'jwk' })
  const sig = parseTpmtSignature(fromBase64(ev.CertificationSignature as string))
  const certifyCheck: SigCheck =
    sig.sigAlg === TPM_ALG.ECDSA
      ? {
          key: akKey,
          scheme: { name: 'ECDSA', hash: 'SHA-256' },
          data: fromBase64(ev.CertifiedDevID as string),
          sig: Buffer.concat([sig.r, sig.s]),
          dsaEncoding: 'ieee-p1363',
        }
      : {
          key: akKey,
          scheme: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
          data: fromBase64(ev.CertifiedDevID as string),
          sig: sig.sig,
          dsaEncoding: 'der',
        }
  const leafKey = createPublicKey({ key: Buffer.from(devid[0]!.spki), format: 'der', type: 'spki' })
  const answer = w.answers.tpm_devid as Record<string, string>
  const nonce = new Uint8Array(32).fill(0x5a)
  const popCheck: SigCheck = {
    key: leafKey,
    scheme: devid[0]!.publicKey.kty === 'EC' ? { name: 'ECDSA', hash: 'SHA-256' } : { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    data: Buffer.concat([nonce, w.binding]),
    sig: fromBase64(answer.DevID!),
    dsaEncoding: 'der',
  }

  const ekPub = parseTpmtPublic(fromBase64(ev.EKPub as string))
  const ekPk = publicKeyFromTpmtPublic(ekPub)
  const ekKey = createPublicKey({ key: publicKeyToJwk(ekPk) as never, format: 'jwk' })
  const ekPoint = ekPk.kty === 'EC' ? Buffer.concat([Buffer.from([4]), ekPk.x, ekPk.y]) : undefined
  const label = Buffer.from('IDENTITY\0')
  const seed = Buffer.alloc(32, 0x5a)
  const zeroIv = Buffer.alloc(16)
  const hashed = [ev.AKPub, ev.DevIDPub, ...(ev.DevIDCert as string[]), ev.EKCert].map((b) => fromBase64(b as string))

  const rest = () => {
    check(certifyCheck)
    check(popCheck)
    // MakeCredential: seed to the EK, KDFa STORAGE + INTEGRITY, AES-128-CFB, outer HMAC
    if (ekPoint) {
      const e = createECDH('prime256v1')
      e.generateKeys()
      e.computeSecret(ekPoint)
      createHash('sha256').update(seed).digest() // KDFe, one block
    } else {
      publicEncrypt({ key: ekKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256', oaepLabel: label }, seed)
    }
    const sym = createHmac('sha256', seed).update('STORAGE').digest().subarray(0, 16)
    const hk = createHmac('sha256', seed).update('INTEGRITY').digest()
    const enc = aesCfb(sym, zeroIv, seed.subarray(0, 34)) // node:crypto CFB (CBC keystream on Deno, which has no CFB)
    createHmac('sha256', hk).update(enc).digest()
    createHmac('sha256', seed).update(w.binding).digest() // the activation proof
    // names, fingerprints, EK hash
    for (const b of hashed) createHash('sha256').update(b).digest()
    createHash('sha1').update(hashed[2]!).digest()
  }
  return {
    signatures: { full: leafChecks.length + intermediateChecks.length + 2, cachedIntermediates: leafChecks.length + 2 },
    full: () => {
      for (const c of leafChecks) check(c)
      for (const c of intermediateChecks) check(c)
      rest()
    },
    cachedIntermediates: () => {
      for (const c of leafChecks) check(c)
      rest()
    },
  }
}

/**
 * The floor of a tpm_devid attestation with a boot policy: the tpm_devid floor plus the quote's
 * signature, its pcrDigest and the SHA-256 replay of every event of the log (one extend each), all
 * in node:crypto on inputs decoded in advance.
 */
export function bootFloorFor(w: BootWorkload): { full: () => void; cachedIntermediates: () => void } {
  const base = floorFor(w)
  const ev = w.evidence as Record<string, string>
  const ak = parseTpmtPublic(fromBase64(ev.AKPub!))
  const akKey = createPublicKey({ key: publicKeyToJwk(publicKeyFromTpmtPublic(ak)) as never, format: 'jwk' })
  const q = (w.answers.tpm_devid as { Quote: { Attest: string; Signature: string; PCRValues: string[] } }).Quote
  const attest = fromBase64(q.Attest)
  const sig = parseTpmtSignature(fromBase64(q.Signature)) as { sig: Uint8Array }
  const values = Buffer.concat(q.PCRValues.map((v) => fromBase64(v)))
  const extends_ = parseEventLog(w.eventLog)
    .events.filter((e) => e.type !== 3)
    .flatMap((e) => e.digests.filter((d) => d.alg === 0x000b).map((d) => ({ pcr: e.pcr, digest: d.digest })))
  const boot = () => {
    if (!verify('sha256', attest, { key: akKey, padding: constants.RSA_PKCS1_PADDING }, sig.sig)) throw new Error('floor: quote')
    createHash('sha256').update(values).digest()
    const pcrs = new Map<number, Buffer>()
    for (const e of extends_)
      pcrs.set(
        e.pcr,
        createHash('sha256')
          .update(pcrs.get(e.pcr) ?? Buffer.alloc(32))
          .update(e.digest)
          .digest(),
      )
  }
  return {
    full: () => {
      base.full()
      boot()
    },
    cachedIntermediates: () => {
      base.cachedIntermediates()
      boot()
    },
  }
}
