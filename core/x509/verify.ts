/**
 * Certificate chain verification (RFC 5280 §6): build a path from the leaf to a trust anchor and
 * validate it. Anchors are trusted as given (their own signature is not checked).
 */
import { EK_TOLERANCES, type Tolerance } from '../der/tolerance.ts'
import { defaultPlatform, type Platform } from '../platform.ts'
import { parseCertificate, type Certificate } from './certificate.ts'
import { buildAndValidatePath, type VerifiedSignatureCache } from './path-build.ts'
import type { ChainProfile } from './path-validate.ts'

export type { ChainProfile } from './path-validate.ts'
export type { VerifiedSignatureCache } from './path-build.ts'

/** DER bytes or an already parsed certificate. */
export type CertificateInput = Uint8Array | Certificate

export interface VerifyChainInput {
  readonly leaf: CertificateInput
  readonly intermediates?: readonly CertificateInput[]
  readonly anchors: readonly CertificateInput[]
  /** ms since the epoch or a Date; default platform.now() */
  readonly at?: number | Date
  /** `ek` allows the EK critical SAN and parses with EK_TOLERANCES; default `none` */
  readonly profile?: ChainProfile
  /** most intermediates between leaf and anchor, self-issued ones not counted; default 6 */
  readonly maxDepth?: number
  /**
   * A purpose (EKU OID, e.g. OID.serverAuth) that every certificate of the path carrying an
   * extKeyUsage must allow (or anyExtendedKeyUsage), as Go and the web PKI nest EKUs; paths that
   * fail it are backtracked over. Default: none, any EKU (as SPIRE verifies with ExtKeyUsageAny).
   */
  readonly extKeyUsage?: string
}

export interface VerifyChainOptions {
  readonly platform?: Platform
  /** parse tolerances for DER inputs; default none, or EK_TOLERANCES for profile `ek` */
  readonly tolerate?: readonly Tolerance[]
  /** skips re-verifying issuer->certificate signatures already verified */
  readonly cache?: VerifiedSignatureCache
  /** bound on signature checks while backtracking; default 32 */
  readonly maxSignatureChecks?: number
}

export interface VerifiedChain {
  /** leaf first, anchor last */
  readonly path: readonly Certificate[]
  readonly anchor: Certificate
}

function isCertificate(x: CertificateInput): x is Certificate {
  return !(x instanceof Uint8Array)
}

/**
 * Verifies `leaf` up to one of `anchors`. Resolves to the path, or rejects with X509Error
 * (ERR_X509_EXPIRED, _NOT_YET_VALID, _SIGNATURE_INVALID, _NO_PATH, _CONSTRAINT_VIOLATED,
 * _UNKNOWN_CRITICAL_EXTENSION, _MALFORMED for an RFC 5280 §4 rule, _UNSUPPORTED_ALGORITHM for a
 * SHA-1 signature) or DerError for an input that does not parse.
 */
function toCertificate(x: CertificateInput, tolerate: readonly Tolerance[]): Certificate {
  return isCertificate(x) ? x : parseCertificate(x, { tolerate })
}

export async function verifyChain(input: VerifyChainInput, options: VerifyChainOptions = {}): Promise<VerifiedChain> {
  const platform = options.platform ?? defaultPlatform()
  const profile = input.profile ?? 'none'
  const tolerate = options.tolerate ?? (profile === 'ek' ? EK_TOLERANCES : [])
  const leaf = toCertificate(input.leaf, tolerate)
  const intermediates = (input.intermediates ?? []).map((x) => toCertificate(x, tolerate))
  const anchors = input.anchors.map((x) => toCertificate(x, tolerate))
  if (anchors.length === 0) throw new TypeError('verifyChain: at least one anchor is required')
  const at = input.at === undefined ? platform.now() : typeof input.at === 'number' ? input.at : input.at.getTime()
  const maxDepth = input.maxDepth ?? 6
  if (!(maxDepth >= 0)) throw new RangeError('verifyChain: maxDepth must be at least 0')
  const path = await buildAndValidatePath(leaf, {
    anchors,
    intermediates,
    at,
    profile,
    maxDepth,
    maxSignatureChecks: options.maxSignatureChecks ?? 32,
    platform,
    tolerate,
    ...(input.extKeyUsage !== undefined ? { extKeyUsage: input.extKeyUsage } : {}),
    ...((options.cache ?? platform.verifiedSignatures) ? { cache: options.cache ?? platform.verifiedSignatures } : {}),
  })
  return { path, anchor: path[path.length - 1]! }
}
