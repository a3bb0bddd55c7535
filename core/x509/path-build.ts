/**
 * Path building: depth-first from the leaf towards any anchor, issuers found by name
 * (RFC 5280 §7.1), AKI/SKI used only to try likelier issuers first. Backtracks over alternative
 * issuers with a bound on depth and on signature checks; a certificate appears at most once.
 */
import { parsedBytesDigestHex } from './fingerprint.ts'
import { bytesEqual } from '../bytes/equal.ts'
import { X509Error, VerifyError } from '../errors.ts'
import type { Platform } from '../platform.ts'
import type { VerifiedSignatureCache } from '../platform-caches.ts'
import type { Tolerance } from '../der/tolerance.ts'
import type { Certificate } from './certificate.ts'
import { namesEqual } from './name.ts'
import { describeCert, isSelfIssued, validatePath, type ChainProfile } from './path-validate.ts'
import { verifyCertificateSignature } from './signature.ts'

export type { VerifiedSignatureCache } from '../platform-caches.ts'

export interface BuildContext {
  readonly anchors: readonly Certificate[]
  readonly intermediates: readonly Certificate[]
  readonly at: number
  readonly profile: ChainProfile
  /** most intermediates in a path; self-issued ones (key rollover) are not counted, as for pathLen */
  readonly maxDepth: number
  /** most signature checks in one build */
  readonly maxSignatureChecks: number
  readonly platform: Platform
  readonly cache?: VerifiedSignatureCache
  readonly tolerate?: readonly Tolerance[]
  /** the purpose (EKU OID) every certificate of the path with an extKeyUsage must allow */
  readonly extKeyUsage?: string
}

interface State {
  checks: number
  /** the most informative failure seen so far, by rank */
  best?: { rank: number; error: VerifyError }
}

function note(state: State, rank: number, error: VerifyError): void {
  if (!state.best || rank > state.best.rank) state.best = { rank, error }
}

function keyHint(cert: Certificate, issuer: Certificate): number {
  const aki = cert.authorityKeyIdentifier?.keyIdentifier
  const ski = issuer.subjectKeyIdentifier
  if (aki && ski) return bytesEqual(aki, ski) ? 0 : 2
  return 1
}

/**
 * Whether `issuer`'s key verifies `cert`'s signature; never for a SHA-1 signature. The cache
 * (when given) is consulted for CA certificates only (depth > 0): a leaf's signature is verified on
 * every path, so the cache holds the few intermediates every device shares, not one entry per device.
 */
async function signedBy(cert: Certificate, issuer: Certificate, ctx: BuildContext, state: State, depth: number): Promise<boolean> {
  if (cert.signatureAlgorithm.scheme.hash === 'SHA-1') {
    // chosen-prefix collisions make a SHA-1 signature forgeable; Go (so SPIRE) refuses it too
    note(
      state,
      2,
      new X509Error('ERR_X509_UNSUPPORTED_ALGORITHM', `${describeCert(cert, depth)} is signed with SHA-1, which is not accepted`, {
        detail: { depth },
      }),
    )
    return false
  }
  let key: string | undefined
  if (ctx.cache && depth > 0) {
    key = `${await parsedBytesDigestHex('SHA-256', cert.raw, ctx.platform)}:${await parsedBytesDigestHex('SHA-256', issuer.spki, ctx.platform)}`
    if (ctx.cache.get(key) === true) return true
  }
  if (state.checks >= ctx.maxSignatureChecks) return false
  state.checks++
  const ok = await verifyCertificateSignature(cert, issuer.publicKey, ctx.platform)
  if (ok && key) ctx.cache!.set(key, true)
  return ok
}

function issuersOf(cert: Certificate, pool: readonly Certificate[]): Certificate[] {
  return pool.filter((c) => namesEqual(c.subject, cert.issuer)).sort((a, b) => keyHint(cert, a) - keyHint(cert, b))
}

/** Hard bound on certificates in a path, whatever maxDepth says. */
const MAX_PATH_CERTIFICATES = 32

/** Intermediates in `path` (leaf first) that count against maxDepth. */
function logicalIntermediates(path: readonly Certificate[]): number {
  let n = 0
  for (let i = 1; i < path.length; i++) if (!isSelfIssued(path[i]!)) n++
  return n
}

async function extend(path: Certificate[], ctx: BuildContext, state: State): Promise<Certificate[] | undefined> {
  const cert = path[path.length - 1]!
  const depth = path.length - 1
  for (const anchor of issuersOf(cert, ctx.anchors)) {
    if (!(await signedBy(cert, anchor, ctx, state, depth))) {
      note(
        state,
        1,
        new X509Error(
          'ERR_X509_SIGNATURE_INVALID',
          `${describeCert(cert, depth)}: signature does not verify with the key of trust anchor ${describeCert(anchor, depth + 1)}`,
          { detail: { depth } },
        ),
      )
      continue
    }
    const full = [...path, anchor]
    try {
      validatePath(full, ctx.at, ctx.profile, ctx)
      return full
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e
      note(state, 3, e)
    }
  }
  for (const issuer of issuersOf(cert, ctx.intermediates)) {
    if (path.length + 2 > MAX_PATH_CERTIFICATES || logicalIntermediates([...path, issuer]) > ctx.maxDepth) {
      note(
        state,
        2,
        new X509Error('ERR_X509_NO_PATH', `${describeCert(cert, depth)}: no path within the bound of ${ctx.maxDepth} intermediates`, {
          detail: { depth },
        }),
      )
      continue
    }
    if (path.some((p) => bytesEqual(p.raw, issuer.raw) || (namesEqual(p.subject, issuer.subject) && bytesEqual(p.spki, issuer.spki))))
      continue
    if (!(await signedBy(cert, issuer, ctx, state, depth))) {
      note(
        state,
        1,
        new X509Error(
          'ERR_X509_SIGNATURE_INVALID',
          `${describeCert(cert, depth)}: signature does not verify with the key of ${describeCert(issuer, depth + 1)}`,
          { detail: { depth } },
        ),
      )
      continue
    }
    const found = await extend([...path, issuer], ctx, state)
    if (found) return found
  }
  return undefined
}

/** The first valid path leaf..anchor, or throws the most informative failure seen. */
export async function buildAndValidatePath(leaf: Certificate, ctx: BuildContext): Promise<Certificate[]> {
  const state: State = { checks: 0 }
  const direct = ctx.anchors.find((a) => bytesEqual(a.raw, leaf.raw))
  if (direct) {
    validatePath([direct], ctx.at, ctx.profile, ctx)
    return [direct]
  }
  const found = await extend([leaf], ctx, state)
  if (found) return found
  if (state.best) throw state.best.error
  throw new X509Error('ERR_X509_NO_PATH', `${describeCert(leaf, 0)}: no trust anchor or intermediate is named by its issuer`, {
    detail: { depth: 0 },
  })
}
