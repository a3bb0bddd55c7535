// The CA that signs X.509-SVIDs, from two bindings: its certificate (PEM) and its PKCS#8 private
// key (PEM, a secret). The SVID profile is the one `vouch server` issues (X509-SVID.md §4: one
// SPIFFE ID URI SAN, cA false, digitalSignature), built by vouch/x509's makeCertificate and
// signed with Web Crypto.
import type { Platform } from 'vouch'
import { parsePemBlocks, toHex, toPem } from 'vouch/bytes'
import { type Certificate, keyIdentifier, makeCertificate, parseCertificate } from 'vouch/x509'

/** validity starts this long before issuance, for clock skew between the Worker and relying parties */
const CLOCK_SKEW_MS = 10_000

export interface IssuedSvid {
  readonly der: Uint8Array
  readonly notAfter: number
  readonly serialHex: string
}

export interface WorkerCa {
  readonly certificate: Certificate
  /** the CA certificate as PEM: the trust bundle an agent receives */
  readonly bundlePem: string
  issueSvid(spki: Uint8Array, spiffeId: string, ttlMs: number): Promise<IssuedSvid>
}

type SigningAlgorithm = EcKeyImportParams | RsaHashedImportParams

function signingAlgorithm(certificate: Certificate): SigningAlgorithm {
  const key = certificate.publicKey
  if (key.kty === 'RSA') return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }
  if (key.crv === 'P-256' || key.crv === 'P-384') return { name: 'ECDSA', namedCurve: key.crv }
  throw new Error(`CA_CERT: a ${key.crv} key cannot sign here (P-256, P-384 or RSA)`)
}

/** Loads the CA and checks that the key belongs to the certificate (a signature made and verified once). */
export async function loadCa(certificatePem: string, privateKeyPem: string, platform: Platform): Promise<WorkerCa> {
  const certBlock = parsePemBlocks(certificatePem, 'CA_CERT').find((b) => b.label === 'CERTIFICATE')
  const keyBlock = parsePemBlocks(privateKeyPem, 'CA_KEY').find((b) => b.label === 'PRIVATE KEY')
  if (!certBlock) throw new Error('CA_CERT: no CERTIFICATE PEM block')
  if (!keyBlock) throw new Error('CA_KEY: no PRIVATE KEY (PKCS#8) PEM block')
  const certificate = parseCertificate(certBlock.der)
  if (!certificate.basicConstraints?.cA) throw new Error('CA_CERT: basicConstraints cA is not true')
  const algorithm = signingAlgorithm(certificate)
  const subtle = crypto.subtle
  let key: CryptoKey
  try {
    key = await subtle.importKey('pkcs8', keyBlock.der as Uint8Array<ArrayBuffer>, algorithm, false, ['sign'])
  } catch {
    throw new Error(`CA_KEY: not a PKCS#8 ${algorithm.name} private key matching CA_CERT`)
  }
  const signParams =
    'namedCurve' in algorithm ? { name: 'ECDSA', hash: algorithm.namedCurve === 'P-384' ? 'SHA-384' : 'SHA-256' } : algorithm
  const probe = new TextEncoder().encode('vouch CA key check')
  const publicKey = await subtle.importKey('spki', certificate.spki as Uint8Array<ArrayBuffer>, algorithm, false, ['verify'])
  if (!(await subtle.verify(signParams, publicKey, await subtle.sign(signParams, key, probe), probe)))
    throw new Error('CA_KEY: the private key does not belong to CA_CERT')
  const ski = certificate.subjectKeyIdentifier ?? (await keyIdentifier(certificate.spki, platform))
  return {
    certificate,
    bundlePem: toPem('CERTIFICATE', certificate.raw),
    async issueSvid(spki, spiffeId, ttlMs) {
      const now = platform.now()
      const notAfter = Math.min(now + ttlMs, certificate.notAfter)
      const serial = platform.crypto.randomBytes(16)
      serial[0] = (serial[0]! & 0x7f) | 0x01 // positive, 16 octets
      const der = await makeCertificate(
        {
          serialNumber: serial,
          subject: [{ type: 'O', value: 'vouch' }],
          issuer: certificate.subjectRaw,
          notBefore: now - CLOCK_SKEW_MS,
          notAfter,
          publicKey: spki,
          basicConstraints: { cA: false },
          keyUsage: ['digitalSignature', 'keyEncipherment', 'keyAgreement'],
          extKeyUsage: ['serverAuth', 'clientAuth'],
          subjectAltName: { uris: [spiffeId] },
          subjectKeyIdentifier: true,
          authorityKeyIdentifier: ski,
        },
        key,
        { platform, subtle },
      )
      return { der, notAfter, serialHex: toHex(serial) }
    },
  }
}
