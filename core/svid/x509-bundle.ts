import { SpiffeError, isVerifyError } from '../errors.ts'
import { bytesEqual } from '../bytes/equal.ts'
import { parsePemBlocks, toPem } from '../bytes/pem.ts'
import { fromUtf8 } from '../bytes/encoding.ts'
import { parseCertificate, type Certificate } from '../x509/certificate.ts'
import type { X509BundleSource } from './bundle-source.ts'
import { toTrustDomain } from './spiffe-id.ts'
import type { TrustDomain } from './trust-domain.ts'

/**
 * The X.509 authorities (trust anchors) of one trust domain (X509-SVID.md §5-6, go-spiffe
 * `x509bundle.Bundle`). Authorities are unique by DER; order is kept.
 */
export class X509Bundle implements X509BundleSource {
  readonly trustDomain: TrustDomain
  readonly authorities: readonly Certificate[]

  constructor(trustDomain: TrustDomain | string, authorities: Iterable<Certificate> = []) {
    this.trustDomain = toTrustDomain(trustDomain)
    const list: Certificate[] = []
    for (const c of authorities) if (!list.some((x) => bytesEqual(x.raw, c.raw))) list.push(c)
    this.authorities = Object.freeze(list)
  }

  hasAuthority(der: Uint8Array): boolean {
    return this.authorities.some((c) => bytesEqual(c.raw, der))
  }

  getX509Bundle(td: TrustDomain): X509Bundle | undefined {
    return td.equals(this.trustDomain) ? this : undefined
  }
}

/** One authority certificate; parse failures become ERR_BUNDLE_MALFORMED naming the position. */
export function parseAuthority(der: Uint8Array, what: string): Certificate {
  try {
    return parseCertificate(der)
  } catch (e) {
    if (isVerifyError(e)) throw new SpiffeError('ERR_BUNDLE_MALFORMED', `${what}: cannot parse certificate: ${e.message}`, { cause: e })
    throw e
  }
}

/**
 * A PEM bundle of X.509 authorities (go-spiffe `x509bundle.Parse`). Empty or blank input is an
 * empty bundle; other text without PEM blocks, a block that is not CERTIFICATE, or a certificate
 * that does not parse is an error.
 */
export function parseX509Bundle(td: TrustDomain | string, pem: string | Uint8Array): X509Bundle {
  let text: string
  try {
    text = typeof pem === 'string' ? pem : fromUtf8(pem, 'x509 bundle')
  } catch {
    throw new SpiffeError('ERR_BUNDLE_MALFORMED', 'x509 bundle: not PEM text')
  }
  if (text.trim() === '') return new X509Bundle(td)
  let blocks
  try {
    blocks = parsePemBlocks(text, 'x509 bundle')
  } catch (e) {
    throw new SpiffeError('ERR_BUNDLE_MALFORMED', `x509 bundle: ${e instanceof Error ? e.message : String(e)}`, { cause: e })
  }
  if (blocks.length === 0) throw new SpiffeError('ERR_BUNDLE_MALFORMED', 'x509 bundle: no PEM blocks found')
  const certs = blocks.map((b, i) => {
    if (b.label !== 'CERTIFICATE') {
      throw new SpiffeError('ERR_BUNDLE_MALFORMED', `x509 bundle: block ${i} is "${b.label}", expected CERTIFICATE`)
    }
    return parseAuthority(b.der, `x509 bundle block ${i}`)
  })
  return new X509Bundle(td, certs)
}

/** The authorities as concatenated CERTIFICATE PEM blocks. */
export function makeX509BundlePem(bundle: X509Bundle): string {
  return bundle.authorities.map((c) => toPem('CERTIFICATE', c.raw)).join('')
}
