/**
 * The server CA: a self-signed root (ECDSA P-256 unless loaded from files) that issues
 * X.509-SVIDs (X509-SVID.md §4: one SPIFFE ID URI SAN, cA false, digitalSignature, no
 * keyCertSign/cRLSign) and the server's own TLS certificate. Validity starts 10 s in the past for
 * clock skew. Keys are Web Crypto CryptoKeys; this folder is the only server code that touches
 * SubtleCrypto (key generation, PKCS#8 import/export), through an injected `subtle`.
 */
import { toPem, parsePemBlocks } from '../../core/bytes/pem.ts'
import { isOnCurve } from '../../core/crypto/ec-point.ts'
import type { PublicKey } from '../../core/crypto/provider.ts'
import type { Platform } from '../../core/platform.ts'
import type { PublicJwk } from '../../core/svid/jwk.ts'
import { SpiffeBundle } from '../../core/svid/spiffe-bundle.ts'
import { parseCertificate, type Certificate } from '../../core/x509/certificate.ts'
import { keyIdentifier, makeCertificate } from '../../core/x509/make-certificate.ts'

export const CLOCK_SKEW_MS = 10_000
export const CA_VALIDITY_MS = 10 * 365 * 86_400_000

export interface ServerCaFiles {
  /** PEM CERTIFICATE of the root */
  readonly certificatePem: string
  /** PEM PRIVATE KEY (PKCS#8) */
  readonly privateKeyPem: string
}

export interface IssuedSvid {
  readonly der: Uint8Array
  readonly notBefore: number
  readonly notAfter: number
  readonly serialHex: string
}

async function importPkcs8(subtle: SubtleCrypto, der: Uint8Array): Promise<CryptoKey> {
  const bytes = der as Uint8Array<ArrayBuffer>
  const tries: (EcKeyImportParams | RsaHashedImportParams)[] = [
    { name: 'ECDSA', namedCurve: 'P-256' },
    { name: 'ECDSA', namedCurve: 'P-384' },
    { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
  ]
  for (const alg of tries) {
    try {
      return await subtle.importKey('pkcs8', bytes, alg, false, ['sign'])
    } catch {
      // next algorithm
    }
  }
  throw new Error('server CA key: not a PKCS#8 P-256, P-384 or RSA private key')
}

export class ServerCa {
  private constructor(
    readonly certificate: Certificate,
    private readonly key: CryptoKey,
    private readonly ski: Uint8Array,
    private readonly platform: Platform,
    private readonly subtle: SubtleCrypto,
  ) {}

  /** A new self-signed root for the trust domain, and its files to persist. */
  static async create(trustDomain: string, platform: Platform, subtle: SubtleCrypto): Promise<{ ca: ServerCa; files: ServerCaFiles }> {
    const pair = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
    const spki = new Uint8Array(await subtle.exportKey('spki', pair.publicKey))
    const now = platform.now()
    const der = await makeCertificate(
      {
        subject: [
          { type: 'O', value: 'vouch' },
          { type: 'CN', value: `vouch server CA ${trustDomain}` },
        ],
        notBefore: now - CLOCK_SKEW_MS,
        notAfter: now + CA_VALIDITY_MS,
        publicKey: spki,
        basicConstraints: { cA: true },
        keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
        subjectAltName: { uris: [`spiffe://${trustDomain}`] },
        subjectKeyIdentifier: true,
      },
      pair.privateKey,
      { platform, subtle },
    )
    const pkcs8 = new Uint8Array(await subtle.exportKey('pkcs8', pair.privateKey))
    const files = { certificatePem: toPem('CERTIFICATE', der), privateKeyPem: toPem('PRIVATE KEY', pkcs8) }
    return { ca: await ServerCa.load(files, platform, subtle), files }
  }

  /** The CA from its PEM files. */
  static async load(files: ServerCaFiles, platform: Platform, subtle: SubtleCrypto): Promise<ServerCa> {
    const certBlock = parsePemBlocks(files.certificatePem, 'server CA certificate').find((b) => b.label === 'CERTIFICATE')
    const keyBlock = parsePemBlocks(files.privateKeyPem, 'server CA key').find((b) => b.label === 'PRIVATE KEY')
    if (!certBlock) throw new Error('server CA certificate: no CERTIFICATE PEM block')
    if (!keyBlock) throw new Error('server CA key: no PRIVATE KEY (PKCS#8) PEM block')
    const certificate = parseCertificate(certBlock.der)
    if (!certificate.basicConstraints?.cA) throw new Error('server CA certificate: basicConstraints cA is not true')
    const key = await importPkcs8(subtle, keyBlock.der)
    const ski = certificate.subjectKeyIdentifier ?? (await keyIdentifier(certificate.spki, platform))
    return new ServerCa(certificate, key, ski, platform, subtle)
  }

  private async issue(
    spki: Uint8Array,
    ttlMs: number,
    san: { uris?: string[]; dnsNames?: string[]; ipAddresses?: string[] },
    eku: string[],
  ): Promise<IssuedSvid> {
    const now = this.platform.now()
    const notBefore = now - CLOCK_SKEW_MS
    const notAfter = Math.min(now + ttlMs, this.certificate.notAfter)
    const serial = this.platform.crypto.randomBytes(16)
    serial[0] = (serial[0]! & 0x7f) | 0x01
    const der = await makeCertificate(
      {
        serialNumber: serial,
        subject: [{ type: 'O', value: 'vouch' }],
        issuer: this.certificate.subjectRaw,
        notBefore,
        notAfter,
        publicKey: spki,
        basicConstraints: { cA: false },
        keyUsage: ['digitalSignature', 'keyEncipherment', 'keyAgreement'],
        extKeyUsage: eku,
        subjectAltName: san,
        subjectKeyIdentifier: true,
        authorityKeyIdentifier: this.ski,
      },
      this.key,
      { platform: this.platform, subtle: this.subtle },
    )
    return { der, notBefore, notAfter, serialHex: [...serial].map((b) => b.toString(16).padStart(2, '0')).join('') }
  }

  /**
   * True when the key, already parsed from its SPKI (RSA modulus 512..16384 bits, odd exponent),
   * is usable: for EC, a point on its curve (core/crypto/ec-point.ts), the check a Web Crypto
   * import makes, without the import's 100-350 µs on Node.
   */
  async isUsableKey(_spki: Uint8Array, key: PublicKey): Promise<boolean> {
    return key.kty === 'RSA' || isOnCurve(key)
  }

  /** An X.509-SVID for `spiffeId` over the agent's (or a workload's) key (SPKI DER), with optional DNS SANs. */
  issueSvid(spki: Uint8Array, spiffeId: string, ttlMs: number, dnsNames: readonly string[] = []): Promise<IssuedSvid> {
    return this.issue(spki, ttlMs, { uris: [spiffeId], ...(dnsNames.length > 0 ? { dnsNames: [...dnsNames] } : {}) }, [
      'serverAuth',
      'clientAuth',
    ])
  }

  /** The server's TLS certificate and key for `host` (a DNS name or IPv4 address). */
  async issueTls(host: string, ttlMs: number): Promise<{ certificatePem: string; privateKeyPem: string }> {
    const pair = (await this.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
    const spki = new Uint8Array(await this.subtle.exportKey('spki', pair.publicKey))
    const isIp = /^\d+\.\d+\.\d+\.\d+$/.test(host)
    const hosts = isIp ? { ipAddresses: [host], dnsNames: ['localhost'] } : { dnsNames: [host === '0.0.0.0' ? 'localhost' : host] }
    const cert = await this.issue(spki, ttlMs, host === '0.0.0.0' ? { dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] } : hosts, [
      'serverAuth',
    ])
    const pkcs8 = new Uint8Array(await this.subtle.exportKey('pkcs8', pair.privateKey))
    return {
      certificatePem: toPem('CERTIFICATE', cert.der) + toPem('CERTIFICATE', this.certificate.raw),
      privateKeyPem: toPem('PRIVATE KEY', pkcs8),
    }
  }

  /** The trust domain's SPIFFE bundle: this CA's root as the one X.509 authority, and the JWT authorities given. */
  bundle(
    trustDomain: string,
    sequence: bigint,
    refreshHintSeconds: number,
    jwtAuthorities: readonly (readonly [string, PublicJwk])[] = [],
  ): SpiffeBundle {
    return new SpiffeBundle(trustDomain, {
      x509Authorities: [this.certificate],
      jwtAuthorities,
      sequenceNumber: sequence,
      refreshHintSeconds,
    })
  }
}
