/**
 * What a client accepts from the Workload API before it uses it: the SPIFFE Workload API rules
 * (§5.3, §6.4: every field of an X509SVID and JWTSVID is required, a bundles response carries at
 * least one bundle) and vouch's own verifiers on the content. A response that fails any check is
 * refused whole, with `ERR_WORKLOAD_RESPONSE_INVALID` naming the SVID or bundle and the reason;
 * the source keeps its previous state (SPIFFE Workload API §5.3: "discard the message").
 *
 * Every X.509-SVID is verified with vouch's verifyX509Svid against the bundle of its own trust
 * domain from the same response; its `spiffe_id` must be the certificate's ID and its private key
 * must be the key of the leaf (conformance catalogue HX-1…HX-9: hardening no spec requires, done
 * because a workload should never present what its peers would refuse).
 */
import { createPrivateKey, createPublicKey } from 'node:crypto'
import { bytesEqual } from '../../core/bytes/equal.ts'
import { WorkloadError, isVerifyError } from '../../core/errors.ts'
import { readElement } from '../../core/der/reader.ts'
import type { Platform } from '../../core/platform.ts'
import { BundleSet } from '../../core/svid/bundle-set.ts'
import { parseJwtBundle } from '../../core/svid/jwt-bundle.ts'
import { SpiffeBundle } from '../../core/svid/spiffe-bundle.ts'
import { parseSpiffeId, parseTrustDomain, type SpiffeId } from '../../core/svid/spiffe-id.ts'
import type { TrustDomain } from '../../core/svid/trust-domain.ts'
import { X509Bundle, parseAuthority } from '../../core/svid/x509-bundle.ts'
import { verifyX509Svid } from '../../core/svid/x509-svid.ts'
import type { Certificate } from '../../core/x509/certificate.ts'
import type { JwtBundlesResponse } from '../../core/workload/jwt-svid.ts'
import type { X509BundlesResponse, X509SvidResponse } from '../../core/workload/x509-svid.ts'

/** An X.509-SVID as a source holds it: verified, with its key. */
export interface WorkloadX509Svid {
  readonly id: SpiffeId
  /** leaf first, then intermediates, as the Workload API sent them */
  readonly certificates: readonly Certificate[]
  /** PKCS#8 DER, unencrypted */
  readonly privateKey: Uint8Array
  /** operator guidance (`internal`, `external`), '' when unset */
  readonly hint: string
  /** the path verifyX509Svid validated, leaf first, bundle authority last */
  readonly verifiedChain: readonly Certificate[]
}

export interface X509Update {
  /** the first is the default identity (SPIFFE Workload API §5.2.1) */
  readonly svids: readonly WorkloadX509Svid[]
  /** the trust domains of the SVIDs and the federated ones, X.509 authorities only */
  readonly bundles: BundleSet
}

function refuse(message: string, cause?: unknown): WorkloadError {
  return new WorkloadError(
    'ERR_WORKLOAD_RESPONSE_INVALID',
    message,
    cause === undefined ? {} : { cause, ...(isVerifyError(cause) ? { detail: { reason: cause.code } } : {}) },
  )
}

const why = (e: unknown) => (e instanceof Error ? e.message : String(e))

/** The DER elements of a concatenation (`x509_svid`, `bundle`), each parsed as a certificate. */
export function splitCertificates(bytes: Uint8Array, what: string): Certificate[] {
  const out: Certificate[] = []
  let at = 0
  while (at < bytes.length) {
    if (out.length >= 64) throw refuse(`${what}: more than 64 certificates`)
    let end: number
    try {
      end = readElement(bytes, at, bytes.length, what).end
    } catch (e) {
      throw refuse(`${what}: certificate ${out.length} is not DER: ${why(e)}`, e)
    }
    try {
      out.push(parseAuthority(bytes.subarray(at, end), `${what} certificate ${out.length}`))
    } catch (e) {
      throw refuse(`${what}: ${why(e)}`, e)
    }
    at = end
  }
  return out
}

function trustDomainKey(key: string, what: string): TrustDomain {
  try {
    return parseTrustDomain(key)
  } catch (e) {
    throw refuse(`${what}: key ${JSON.stringify(key.slice(0, 200))} is not a trust domain: ${why(e)}`, e)
  }
}

/** True when the PKCS#8 private key is the key of this SubjectPublicKeyInfo. */
export function privateKeyMatches(pkcs8: Uint8Array, spki: Uint8Array): boolean {
  try {
    const key = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' })
    const pub = createPublicKey(key).export({ format: 'der', type: 'spki' })
    return bytesEqual(new Uint8Array(pub), spki)
  } catch {
    return false
  }
}

export interface CheckOptions {
  readonly platform?: Platform
  /** evaluation time, ms since the epoch (default: the platform clock) */
  readonly at?: number
}

/** Checks an X509SVIDResponse and builds what an X509Source serves; throws ERR_WORKLOAD_RESPONSE_INVALID. */
export async function checkX509SvidResponse(response: X509SvidResponse, options: CheckOptions = {}): Promise<X509Update> {
  if (response.svids.length === 0) throw refuse('X509SVIDResponse: svids is empty')
  const own = new Map<string, Certificate[]>()
  const svids: WorkloadX509Svid[] = []
  for (const [i, m] of response.svids.entries()) {
    const what = `X509SVIDResponse.svids[${i}]`
    for (const [field, value] of [
      ['spiffe_id', m.spiffeId],
      ['x509_svid', m.x509Svid],
      ['x509_svid_key', m.x509SvidKey],
      ['bundle', m.bundle],
    ] as const) {
      if (value.length === 0) throw refuse(`${what}: ${field} is empty`)
    }
    let id: SpiffeId
    try {
      id = parseSpiffeId(m.spiffeId)
    } catch (e) {
      throw refuse(`${what}: spiffe_id: ${why(e)}`, e)
    }
    const chain = splitCertificates(m.x509Svid, `${what}.x509_svid`)
    const authorities = splitCertificates(m.bundle, `${what}.bundle`)
    let verified: Awaited<ReturnType<typeof verifyX509Svid>>
    try {
      verified = await verifyX509Svid(chain, new X509Bundle(id.trustDomain, authorities), {
        ...(options.platform ? { platform: options.platform } : {}),
        ...(options.at !== undefined ? { at: options.at } : {}),
      })
    } catch (e) {
      throw refuse(`${what}: the X.509-SVID does not verify against its bundle: ${why(e)}`, e)
    }
    if (!verified.id.equals(id)) throw refuse(`${what}: spiffe_id "${id}" is not the certificate's SPIFFE ID "${verified.id}"`)
    if (!privateKeyMatches(m.x509SvidKey, chain[0]!.spki)) {
      throw refuse(`${what}: x509_svid_key is not an unencrypted PKCS#8 key of the leaf certificate`)
    }
    if (!own.has(id.trustDomain.name)) own.set(id.trustDomain.name, authorities)
    svids.push({ id, certificates: chain, privateKey: m.x509SvidKey.slice(), hint: m.hint, verifiedChain: verified.verifiedChain })
  }
  const bundles = new BundleSet()
  for (const [key, der] of response.federatedBundles) {
    const td = trustDomainKey(key, 'X509SVIDResponse.federated_bundles')
    if (own.has(td.name)) continue
    bundles.set(new SpiffeBundle(td, { x509Authorities: splitCertificates(der, `federated bundle of "${td}"`) }))
  }
  for (const [name, authorities] of own) bundles.set(new SpiffeBundle(name, { x509Authorities: authorities }))
  return { svids, bundles }
}

/** Checks an X509BundlesResponse: at least one bundle, every bundle DER certificates. */
export function checkX509BundlesResponse(response: X509BundlesResponse): BundleSet {
  if (response.bundles.size === 0) throw refuse('X509BundlesResponse: bundles is empty')
  const set = new BundleSet()
  for (const [key, der] of response.bundles) {
    const td = trustDomainKey(key, 'X509BundlesResponse.bundles')
    set.set(new SpiffeBundle(td, { x509Authorities: splitCertificates(der, `x509 bundle of "${td}"`) }))
  }
  return set
}

/** Checks a JWTBundlesResponse: at least one bundle, every bundle a JWK Set (vouch's parseJwtBundle). */
export function checkJwtBundlesResponse(response: JwtBundlesResponse): BundleSet {
  if (response.bundles.size === 0) throw refuse('JWTBundlesResponse: bundles is empty')
  const set = new BundleSet()
  for (const [key, json] of response.bundles) {
    const td = trustDomainKey(key, 'JWTBundlesResponse.bundles')
    try {
      set.set(new SpiffeBundle(td, { jwtAuthorities: parseJwtBundle(td, json).authorities }))
    } catch (e) {
      throw refuse(`JWTBundlesResponse: the bundle of "${td}" is not a valid JWK Set: ${why(e)}`, e)
    }
  }
  return set
}
