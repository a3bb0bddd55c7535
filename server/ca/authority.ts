/**
 * The server CA: a self-signed root (ECDSA P-256 unless loaded from files) that issues
 * X.509-SVIDs (X509-SVID.md §4: one SPIFFE ID URI SAN, cA false, digitalSignature, no
 * keyCertSign/cRLSign) and the server's own TLS certificate. Validity starts 10 s in the past for
 * clock skew. Keys are Web Crypto CryptoKeys; this folder is the only server code that touches
 * SubtleCrypto (key generation, PKCS#8 import/export), through an injected `subtle`. Certificates
 * are signed through the platform's crypto provider where it signs (signer.ts: node:crypto on
 * Node and Bun), else with the CryptoKey.
 *
 * Rotation (`rotate`): a new root (its CN names its generation) takes over issuing; the old root
 * stays in the bundle until it expires (overlap), and a cross certificate (the new root's subject
 * and key, signed by the old root) rides in the listener's chain, so an agent that still trusts
 * only the old root accepts the new listener certificate and fetches the new bundle. The bundle's
 * spiffe_sequence is the caller's (persisted in the registry), incremented on each rotation.
 */
import { bytesEqual } from '../../core/bytes/equal.ts'
import { parsePemBlocks, parsePemCertificates, toPem } from '../../core/bytes/pem.ts'
import { isOnCurve } from '../../core/crypto/ec-point.ts'
import type { PublicKey } from '../../core/crypto/provider.ts'
import type { Platform } from '../../core/platform.ts'
import type { PublicJwk } from '../../core/svid/jwk.ts'
import { SpiffeBundle } from '../../core/svid/spiffe-bundle.ts'
import { parseCertificate, type Certificate } from '../../core/x509/certificate.ts'
import { commonName } from '../../core/x509/name.ts'
import { type CertificateSigner, keyIdentifier, makeCertificate } from '../../core/x509/make-certificate.ts'
import { listenerNames } from './listener-names.ts'
import { providerSigner } from './signer.ts'

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

export interface RotatedCa {
  /** the new root and key to persist in place of the old */
  readonly files: ServerCaFiles
  /** PEM: the retired roots still in the bundle, newest first */
  readonly retiredPem: string
  /** PEM: the new root cross-signed by the old one */
  readonly crossPem: string
}

function caSubject(trustDomain: string, generation: number) {
  return [
    { type: 'O' as const, value: 'vouch' },
    {
      type: 'CN' as const,
      value: generation <= 1 ? `vouch server CA ${trustDomain}` : `vouch server CA ${trustDomain} (generation ${generation})`,
    },
  ]
}

export class ServerCa {
  /** the bundle's spiffe_sequence (the caller persists it; `rotate` does not change it) */
  sequence = 1n
  private retired: Certificate[] = []
  private cross: Uint8Array | undefined

  private constructor(
    private current: Certificate,
    /** what signs: the platform provider from the key's PKCS#8 where it can (signer.ts), else `key` */
    private signer: CryptoKey | CertificateSigner,
    private ski: Uint8Array,
    private readonly platform: Platform,
    private readonly subtle: SubtleCrypto,
  ) {}

  /** the root that issues now */
  get certificate(): Certificate {
    return this.current
  }

  /** A new self-signed root for the trust domain, and its files to persist. */
  static async create(
    trustDomain: string,
    platform: Platform,
    subtle: SubtleCrypto,
    generation = 1,
  ): Promise<{ ca: ServerCa; files: ServerCaFiles }> {
    const pair = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
    const spki = new Uint8Array(await subtle.exportKey('spki', pair.publicKey))
    const now = platform.now()
    const der = await makeCertificate(
      {
        subject: caSubject(trustDomain, generation),
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

  /** The CA from its PEM files; `retiredPem` and `crossPem` are what `rotate` returned (optional). */
  static async load(
    files: ServerCaFiles & { readonly retiredPem?: string; readonly crossPem?: string },
    platform: Platform,
    subtle: SubtleCrypto,
  ): Promise<ServerCa> {
    const certBlock = parsePemBlocks(files.certificatePem, 'server CA certificate').find((b) => b.label === 'CERTIFICATE')
    const keyBlock = parsePemBlocks(files.privateKeyPem, 'server CA key').find((b) => b.label === 'PRIVATE KEY')
    if (!certBlock) throw new Error('server CA certificate: no CERTIFICATE PEM block')
    if (!keyBlock) throw new Error('server CA key: no PRIVATE KEY (PKCS#8) PEM block')
    const certificate = parseCertificate(certBlock.der)
    if (!certificate.basicConstraints?.cA) throw new Error('server CA certificate: basicConstraints cA is not true')
    const key = await importPkcs8(subtle, keyBlock.der)
    const ski = certificate.subjectKeyIdentifier ?? (await keyIdentifier(certificate.spki, platform))
    const ca = new ServerCa(certificate, providerSigner(key, keyBlock.der, platform) ?? key, ski, platform, subtle)
    // a retired copy of the current root, or a cross certificate for another key, is what a crash
    // in the middle of a rotation leaves: dropped
    if (files.retiredPem?.trim())
      ca.retired = parsePemCertificates(files.retiredPem, 'retired server CAs')
        .map((d) => parseCertificate(d))
        .filter((c) => !bytesEqual(c.raw, certificate.raw))
    const cross = files.crossPem?.trim() ? parsePemCertificates(files.crossPem, 'server CA cross certificate')[0] : undefined
    if (cross && bytesEqual(parseCertificate(cross).spki, certificate.spki)) ca.cross = cross
    return ca
  }

  /** which generation the current root is (1 for the first; from its CN) */
  get generation(): number {
    const m = /\(generation (\d+)\)$/.exec(commonName(this.current.subject) ?? '')
    return m ? Number(m[1]) : this.retired.length + 1
  }

  /**
   * A new root takes over: the old one is retired (kept in the bundle until it expires) and
   * cross-signs the new one. Returns the files to persist; the caller bumps `sequence`.
   */
  async rotate(trustDomain: string): Promise<RotatedCa> {
    const generation = Math.max(this.generation, this.retired.length + 1) + 1
    const { ca: next, files } = await ServerCa.create(trustDomain, this.platform, this.subtle, generation)
    const now = this.platform.now()
    const cross = await makeCertificate(
      {
        subject: caSubject(trustDomain, generation),
        issuer: this.current.subjectRaw,
        notBefore: now - CLOCK_SKEW_MS,
        notAfter: Math.min(this.current.notAfter, next.current.notAfter),
        publicKey: next.current.spki,
        basicConstraints: { cA: true },
        keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
        subjectAltName: { uris: [`spiffe://${trustDomain}`] },
        subjectKeyIdentifier: true,
        authorityKeyIdentifier: this.ski,
      },
      this.signer,
      { platform: this.platform, subtle: this.subtle },
    )
    this.retired = [this.current, ...this.retired].filter((c) => c.notAfter > now)
    this.current = next.current
    this.signer = next.signer
    this.ski = next.ski
    this.cross = cross
    return {
      files,
      retiredPem: this.retired.map((c) => toPem('CERTIFICATE', c.raw)).join(''),
      crossPem: toPem('CERTIFICATE', cross),
    }
  }

  /** the roots a relying party should trust now: the current one, then retired ones not yet expired */
  authorities(): Certificate[] {
    const now = this.platform.now()
    return [this.current, ...this.retired.filter((c) => c.notAfter > now)]
  }

  /** PEM: the current root cross-signed by the previous one, after a rotation (rides in SVID and listener chains) */
  crossPem(): string | undefined {
    return this.cross ? toPem('CERTIFICATE', this.cross) : undefined
  }

  /** `authorities()` as PEM */
  authoritiesPem(): string {
    return this.authorities()
      .map((c) => toPem('CERTIFICATE', c.raw))
      .join('')
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
      this.signer,
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

  /**
   * The server's TLS certificate and key for `host` (a DNS name or IP address) and the
   * `serverNames` (listenerNames); the chain is the leaf, the cross certificate after a rotation,
   * and the issuing root.
   */
  async issueTls(
    host: string,
    ttlMs: number,
    serverNames: readonly string[] = [],
  ): Promise<{ certificatePem: string; privateKeyPem: string; notAfter: number }> {
    const pair = (await this.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
    const spki = new Uint8Array(await this.subtle.exportKey('spki', pair.publicKey))
    const cert = await this.issue(spki, ttlMs, listenerNames(host, serverNames), ['serverAuth'])
    const pkcs8 = new Uint8Array(await this.subtle.exportKey('pkcs8', pair.privateKey))
    return {
      certificatePem:
        toPem('CERTIFICATE', cert.der) + (this.cross ? toPem('CERTIFICATE', this.cross) : '') + toPem('CERTIFICATE', this.certificate.raw),
      privateKeyPem: toPem('PRIVATE KEY', pkcs8),
      notAfter: cert.notAfter,
    }
  }

  /** The trust domain's SPIFFE bundle: `authorities()` as the X.509 authorities, and the JWT authorities given. */
  bundle(
    trustDomain: string,
    sequence: bigint,
    refreshHintSeconds: number,
    jwtAuthorities: readonly (readonly [string, PublicJwk])[] = [],
  ): SpiffeBundle {
    return new SpiffeBundle(trustDomain, {
      x509Authorities: this.authorities(),
      jwtAuthorities,
      sequenceNumber: sequence,
      refreshHintSeconds,
    })
  }
}
