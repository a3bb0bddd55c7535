import { SpiffeError, isVerifyError } from '../errors.ts'
import { parsePemBlocks } from '../bytes/pem.ts'
import type { Platform } from '../platform.ts'
import { KEY_USAGE } from '../x509/extensions.ts'
import type { Certificate } from '../x509/certificate.ts'
import { parseCertificateCached } from '../x509/certificate-cache.ts'
import { verifyChain, type VerifiedSignatureCache } from '../x509/verify.ts'
import type { X509BundleSource } from './bundle-source.ts'
import { matchAny, type SpiffeIdMatcher } from './match.ts'
import { parseSpiffeId, type SpiffeId } from './spiffe-id.ts'

/**
 * X.509-SVID verification, X509-SVID.md (checklist B1-B16). Order (go-spiffe `x509svid.Verify`
 * plus the §5.2 rules it leaves to Parse): parse every certificate -> leaf: exactly one URI SAN
 * holding a SPIFFE ID (B1) with a non-root path (B3), cA false (B7), keyUsage with
 * digitalSignature and without keyCertSign / cRLSign (B11, B14), empty subject needs a critical
 * SAN (B4) -> the X.509 bundle of the leaf's own trust domain (A15, D1) -> RFC 5280 path
 * validation to one of its authorities with the rest of the chain as intermediates (B13) ->
 * intermediates in the path: cA and keyCertSign (B10), any SPIFFE ID they carry has no path and is
 * in the leaf's trust domain (B5) -> the caller's matcher.
 */

export type CertificateInput = Uint8Array | Certificate

export interface VerifyX509SvidOptions {
  /** authorizes the verified ID; default matchAny() */
  readonly matcher?: SpiffeIdMatcher
  /** evaluation time: ms since the epoch or a Date; default platform.now() */
  readonly at?: number | Date
  readonly platform?: Platform
  /** most certificates in a path, leaf and anchor included; default 8 */
  readonly maxDepth?: number
  readonly cache?: VerifiedSignatureCache
}

export interface X509Svid {
  readonly id: SpiffeId
  /** the presented certificates, leaf first */
  readonly certificates: readonly Certificate[]
}

export interface VerifiedX509Svid extends X509Svid {
  /** the validated path, leaf first, bundle authority last */
  readonly verifiedChain: readonly Certificate[]
}

function svidInvalid(message: string, cause?: unknown): SpiffeError {
  return new SpiffeError('ERR_SVID_INVALID', message, cause === undefined ? {} : { cause })
}

function toCertificate(x: CertificateInput, i: number, platform: Platform | undefined): Certificate {
  if (!(x instanceof Uint8Array)) return x
  try {
    // through the platform's certificate cache when it has one
    return parseCertificateCached(x, {}, platform)
  } catch (e) {
    if (isVerifyError(e)) throw svidInvalid(`certificate ${i} of the chain does not parse: ${e.message}`, e)
    throw e
  }
}

/** The URIs of a certificate's subjectAltName. */
export function uriSans(cert: Certificate): string[] {
  const out: string[] = []
  for (const n of cert.subjectAltName ?? []) if (n.type === 'uri') out.push(n.value)
  return out
}

/** B1: the one URI SAN, parsed as a SPIFFE ID (go-spiffe `x509svid.IDFromCert`). */
export function spiffeIdFromCertificate(cert: Certificate): SpiffeId {
  const uris = uriSans(cert)
  if (uris.length === 0) throw svidInvalid('certificate contains no uri san')
  if (uris.length > 1) throw svidInvalid(`certificate contains ${uris.length} uri sans, an svid has exactly one`)
  try {
    return parseSpiffeId(uris[0]!)
  } catch (e) {
    throw svidInvalid(`uri san is not a valid spiffe id: ${e instanceof Error ? e.message : String(e)}`, e)
  }
}

function isEmptyName(raw: Uint8Array): boolean {
  return raw.length === 2 && raw[0] === 0x30 && raw[1] === 0x00
}

/** The leaf rules of X509-SVID §2, §3.1, §4.1, §4.3 and §5.2. Returns the leaf's SPIFFE ID. */
export function checkX509SvidLeaf(leaf: Certificate): SpiffeId {
  const id = spiffeIdFromCertificate(leaf)
  if (id.isRoot()) throw svidInvalid(`leaf spiffe id "${id}" has no path; a leaf svid needs a non-root path`)
  if (leaf.basicConstraints?.cA) throw svidInvalid('leaf has basicConstraints cA true; a leaf svid must not be a ca')
  const ku = leaf.keyUsage
  if (ku === undefined || (ku & KEY_USAGE.digitalSignature) === 0) throw svidInvalid('leaf keyUsage lacks digitalSignature')
  if (ku & KEY_USAGE.keyCertSign) throw svidInvalid('leaf keyUsage has keyCertSign; a leaf svid must not sign certificates')
  if (ku & KEY_USAGE.cRLSign) throw svidInvalid('leaf keyUsage has cRLSign; a leaf svid must not sign crls')
  if (isEmptyName(leaf.subjectRaw) && !leaf.extensions.some((e) => e.oid === '2.5.29.17' && e.critical)) {
    throw svidInvalid('leaf subject is empty but subjectAltName is not critical (RFC 5280 §4.1.2.6)')
  }
  return id
}

/** B5, B7, B10: a signing certificate of an SVID chain. */
export function checkSigningCertificate(cert: Certificate, index: number, td?: SpiffeId['trustDomain']): void {
  if (!cert.basicConstraints?.cA) throw svidInvalid(`signing certificate ${index} does not have basicConstraints cA true`)
  if (cert.keyUsage === undefined || (cert.keyUsage & KEY_USAGE.keyCertSign) === 0) {
    throw svidInvalid(`signing certificate ${index} keyUsage lacks keyCertSign`)
  }
  for (const uri of uriSans(cert)) {
    if (!uri.startsWith('spiffe://')) continue
    let id: SpiffeId
    try {
      id = parseSpiffeId(uri)
    } catch (e) {
      throw svidInvalid(`signing certificate ${index} carries an invalid spiffe id`, e)
    }
    if (!id.isRoot()) throw svidInvalid(`signing certificate ${index} spiffe id "${id}" has a path; a ca id must not`)
    if (td && !id.trustDomain.equals(td)) {
      throw svidInvalid(`signing certificate ${index} belongs to trust domain "${id.trustDomain}", the leaf to "${td}"`)
    }
  }
}

/** A chain given as PEM text (CERTIFICATE blocks, leaf first; other blocks ignored) or DER. */
function toChain(input: string | readonly CertificateInput[], platform?: Platform): Certificate[] {
  let items: readonly CertificateInput[]
  if (typeof input === 'string') {
    let blocks
    try {
      blocks = parsePemBlocks(input, 'svid chain', platform?.decodeBase64)
    } catch (e) {
      throw svidInvalid(`svid chain is not pem: ${e instanceof Error ? e.message : String(e)}`, e)
    }
    if (blocks.length === 0) throw svidInvalid('svid chain: no pem blocks found')
    items = blocks.filter((b) => b.label === 'CERTIFICATE').map((b) => b.der)
  } else items = input
  if (items.length === 0) throw svidInvalid('svid chain: no certificates found')
  return items.map((x, i) => toCertificate(x, i, platform))
}

/**
 * Structural checks only (go-spiffe `x509svid.Parse` without the private key): the leaf rules and
 * every further certificate a signing certificate. No signature, time or trust check.
 */
export function parseX509Svid(chain: string | readonly CertificateInput[]): X509Svid {
  const certificates = toChain(chain)
  const id = checkX509SvidLeaf(certificates[0]!)
  certificates.slice(1).forEach((c, i) => {
    checkSigningCertificate(c, i + 1)
  })
  return { id, certificates }
}

/**
 * Verifies an X.509-SVID chain (leaf first, then intermediates) against the X.509 bundle of the
 * leaf's own trust domain. Resolves to the ID and the validated path; rejects with SpiffeError.
 */
export async function verifyX509Svid(
  chain: string | readonly CertificateInput[],
  bundles: X509BundleSource,
  options: VerifyX509SvidOptions = {},
): Promise<VerifiedX509Svid> {
  const certificates = toChain(chain, options.platform)
  const leaf = certificates[0]!
  const id = checkX509SvidLeaf(leaf)
  const td = id.trustDomain
  const bundle = bundles.getX509Bundle(td)
  if (!bundle) throw new SpiffeError('ERR_BUNDLE_NOT_FOUND', `no x509 bundle for trust domain "${td}"`)
  if (bundle.authorities.length === 0) {
    throw new SpiffeError('ERR_SVID_UNTRUSTED', `the x509 bundle of trust domain "${td}" has no authorities`)
  }
  let path: readonly Certificate[]
  try {
    ;({ path } = await verifyChain(
      {
        leaf,
        intermediates: certificates.slice(1),
        anchors: bundle.authorities,
        ...(options.at !== undefined ? { at: options.at } : {}),
        ...(options.maxDepth !== undefined ? { maxDepth: options.maxDepth } : {}),
      },
      { ...(options.platform ? { platform: options.platform } : {}), ...(options.cache ? { cache: options.cache } : {}) },
    ))
  } catch (e) {
    if (isVerifyError(e)) {
      throw new SpiffeError('ERR_SVID_UNTRUSTED', `leaf does not chain to the bundle of trust domain "${td}": ${e.message}`, {
        cause: e,
        detail: { reason: e.code },
      })
    }
    throw e
  }
  path.slice(1, -1).forEach((c, i) => {
    checkSigningCertificate(c, i + 1, td)
  })
  ;(options.matcher ?? matchAny())(id)
  return { id, certificates, verifiedChain: path }
}
