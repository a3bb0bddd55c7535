// The rule for replacing the agent's trust bundle (svidDir/bundle.pem) with the one a server
// answer carries. A party in the middle (a rewriting proxy, or anyone on an insecureHttp link)
// must not be able to plant a root:
//   1. the received bundle is 1..16 PEM certificates, each a CA (basicConstraints cA) not expired;
//   2. it overlaps the current trust (trustBundlePath and the bundle written before): at least
//      one received root is already trusted;
//   3. every root not yet trusted is vouched for by the current trust: the answer's SVID chain
//      holds a cross certificate with that root's subject and key, signed by a trusted root
//      (what the server sends after a CA rotation);
//   4. the SVID leaf verifies under a root of the received bundle, directly or through one
//      certificate of its chain.
// Over https the answer also came through a connection verified against the current trust. With
// no current trust at all (insecureHttp, first run) the bundle is taken on first use, with a
// warning. Any failure refuses the whole answer: nothing is written.
import { bytesEqual } from '../core/bytes/equal.ts'
import { SpiffeError, VerifyError } from '../core/errors.ts'
import { parsePemCertificates } from '../core/bytes/pem.ts'
import type { Platform } from '../core/platform.ts'
import { parseCertificate, type Certificate } from '../core/x509/certificate.ts'
import { formatName } from '../core/x509/name.ts'
import { verifyCertificateSignature } from '../core/x509/signature.ts'

export const MAX_BUNDLE_CERTIFICATES = 16

/** ERR_BUNDLE_MALFORMED (not CA certificates), ERR_BUNDLE_UNTRUSTED (no overlap, an unvouched root), ERR_SVID_UNTRUSTED */
export class BundleRefused extends SpiffeError {
  constructor(message: string, code: 'ERR_BUNDLE_MALFORMED' | 'ERR_BUNDLE_UNTRUSTED' | 'ERR_SVID_UNTRUSTED' = 'ERR_BUNDLE_MALFORMED') {
    super(code, `server bundle refused: ${message}`)
  }
}

export interface BundleUpdateInput {
  /** what the agent trusts now (trustBundlePath, the bundle written before), parsed */
  readonly current: readonly Certificate[]
  /** the answer's bundle, PEM */
  readonly receivedPem: string
  /** the answer's SVID chain (leaf first), DER */
  readonly svidChain: readonly Uint8Array[]
  readonly platform: Platform
}

export interface BundleUpdate {
  readonly roots: Certificate[]
  /** roots that were not trusted before (added by a vouched rotation) */
  readonly added: Certificate[]
  /** true when there was no current trust (first use over insecureHttp) */
  readonly firstUse: boolean
}

const same = (a: Certificate, b: Certificate) => bytesEqual(a.raw, b.raw)

async function signedByAny(cert: Certificate, issuers: readonly Certificate[], platform: Platform): Promise<boolean> {
  for (const i of issuers) {
    if (!bytesEqual(cert.issuerRaw, i.subjectRaw)) continue
    if (await verifyCertificateSignature(cert, i.publicKey, platform).catch(() => false)) return true
  }
  return false
}

export function parseCertificatesPem(pem: string, what: string): Certificate[] {
  let ders: Uint8Array[]
  try {
    ders = parsePemCertificates(pem, what)
  } catch (e) {
    if (!(e instanceof VerifyError)) throw e
    throw new BundleRefused(`${what}: ${(e as Error).message}`)
  }
  if (ders.length === 0) throw new BundleRefused(`${what}: no CERTIFICATE block`)
  if (ders.length > MAX_BUNDLE_CERTIFICATES)
    throw new BundleRefused(`${what}: ${ders.length} certificates, more than ${MAX_BUNDLE_CERTIFICATES}`)
  return ders.map((d, i) => {
    try {
      return parseCertificate(d)
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e
      throw new BundleRefused(`${what}: certificate ${i}: ${(e as Error).message}`)
    }
  })
}

export async function checkBundleUpdate(input: BundleUpdateInput): Promise<BundleUpdate> {
  const { platform, current } = input
  const now = platform.now()
  const roots = parseCertificatesPem(input.receivedPem, 'bundle')
  roots.forEach((c, i) => {
    if (!c.basicConstraints?.cA) throw new BundleRefused(`bundle certificate ${i} is not a CA`)
    if (c.notAfter < now) throw new BundleRefused(`bundle certificate ${i} expired at ${new Date(c.notAfter).toISOString()}`)
  })
  if (input.svidChain.length === 0) throw new BundleRefused('the answer carries no SVID', 'ERR_SVID_UNTRUSTED')
  const chain = input.svidChain.map((d, i) => {
    try {
      return parseCertificate(d)
    } catch (e) {
      if (!(e instanceof VerifyError)) throw e
      throw new BundleRefused(`SVID certificate ${i}: ${(e as Error).message}`, 'ERR_SVID_UNTRUSTED')
    }
  })
  const leaf = chain[0]!
  const firstUse = current.length === 0
  const added = roots.filter((r) => !current.some((c) => same(c, r)))
  if (!firstUse) {
    if (added.length === roots.length)
      throw new BundleRefused('no root of the received bundle is in the current trust', 'ERR_BUNDLE_UNTRUSTED')
    for (const r of added) {
      const cross = chain
        .slice(1)
        .find((x) => bytesEqual(x.subjectRaw, r.subjectRaw) && bytesEqual(x.spki, r.spki) && x.basicConstraints?.cA === true)
      if (!cross || !(await signedByAny(cross, current, platform)))
        throw new BundleRefused(
          `the new root "${formatName(r.subject)}" is not vouched for by the current trust (no cross certificate signed by a trusted root)`,
          'ERR_BUNDLE_UNTRUSTED',
        )
    }
  }
  const direct = await signedByAny(leaf, roots, platform)
  let viaChain = false
  if (!direct)
    for (const x of chain.slice(1))
      if ((await signedByAny(leaf, [x], platform)) && (await signedByAny(x, roots, platform))) {
        viaChain = true
        break
      }
  if (!direct && !viaChain) throw new BundleRefused('the SVID does not verify under the received bundle', 'ERR_SVID_UNTRUSTED')
  return { roots, added, firstUse }
}
