import { isVerifyError } from '../../core/errors.ts'
import { describeJwk } from '../../core/svid/jwk.ts'
import { parseBundleMap } from '../../core/svid/bundle-map.ts'
import { BundleSet } from '../../core/svid/bundle-set.ts'
import { parseJsonObject } from '../../core/svid/json.ts'
import { parseBundleDocument, trustDomainOfAuthorities, withTrustDomain, type SpiffeBundle } from '../../core/svid/spiffe-bundle.ts'
import { parseTrustDomain } from '../../core/svid/spiffe-id.ts'
import { fingerprintSha256 } from '../../core/x509/fingerprint.ts'
import { formatName } from '../../core/x509/name.ts'
import { parseArgs, option, UsageError } from '../args.ts'
import { EXIT_INVALID, EXIT_OK, type Command } from '../command.ts'
import { readInput } from '../files.ts'

const USAGE =
  'vouch bundle show [--trust-domain TD] [--output json] FILE\n' +
  '  FILE is a SPIFFE bundle (JWKS JSON with use x509-svid / jwt-svid), a bundle map\n' +
  '  ({"trust_domains": {...}}) or PEM X.509 authorities.'

/** Placeholder binding while reading a file that does not name its trust domain. */
const UNBOUND = 'unbound.invalid'

function checkOutput(output: string | undefined): void {
  if (output !== undefined && output !== 'json' && output !== 'text') throw new UsageError('--output must be json or text')
}

/** A bundle file as read by the SPIFFE commands: one trust domain's bundle, or a bundle map. */
export interface LoadedBundles {
  readonly format: 'spiffe' | 'pem' | 'map'
  /** bundles keyed by trust domain; one entry unless format is 'map' */
  readonly set: BundleSet
  /** false when a single bundle could not be bound to a trust domain (bundle show only) */
  readonly named: boolean
}

/**
 * Reads a bundle file: a bundle map (`trust_domains`), or one bundle for `td` (given, or named by
 * the bundle's own CA certificates). A file that cannot be read is a usage error, a malformed
 * bundle a VerifyError.
 */
export function loadBundles(path: string, tdText: string | undefined, required: boolean): LoadedBundles {
  let td
  try {
    td = tdText === undefined ? undefined : parseTrustDomain(tdText)
  } catch (e) {
    throw new UsageError(`--trust-domain ${tdText}: ${e instanceof Error ? e.message : String(e)}`)
  }
  const bytes = readInput(path, 'bundle')
  if (new TextDecoder().decode(bytes.subarray(0, 64)).trimStart().startsWith('{')) {
    const doc = parseJsonObject(bytes, path)
    if (doc.trust_domains !== undefined && doc.keys === undefined) {
      if (td) throw new UsageError(`${path} is a bundle map; it names its trust domains, drop --trust-domain`)
      return { format: 'map', set: parseBundleMap(bytes), named: true }
    }
  }
  const { bundle, format } = parseBundleDocument(td ?? UNBOUND, bytes)
  if (td) return { format, set: new BundleSet([bundle]), named: true }
  const inferred = trustDomainOfAuthorities(bundle.x509Authorities)
  if (inferred) return { format, set: new BundleSet([withTrustDomain(bundle, inferred)]), named: true }
  if (required)
    throw new UsageError(`${path} does not name its trust domain (no spiffe:// uri san on its authorities); pass --trust-domain`)
  return { format, set: new BundleSet([bundle]), named: false }
}

async function describeBundle(bundle: SpiffeBundle, named: boolean) {
  return {
    trustDomain: named ? bundle.trustDomain.name : null,
    sequence: bundle.sequenceNumber === undefined ? null : bundle.sequenceNumber.toString(),
    refreshHintSeconds: bundle.refreshHintSeconds ?? null,
    x509Authorities: await Promise.all(
      bundle.x509Authorities.map(async (c) => ({
        subject: formatName(c.subject),
        spiffeId: (c.subjectAltName ?? []).flatMap((n) => (n.type === 'uri' ? [n.value] : []))[0] ?? null,
        notBefore: new Date(c.notBefore).toISOString(),
        notAfter: new Date(c.notAfter).toISOString(),
        sha256: await fingerprintSha256(c.raw),
      })),
    ),
    jwtAuthorities: [...bundle.jwtAuthorities].map(([kid, jwk]) => ({ kid, key: describeJwk(jwk) })),
  }
}

export const bundleShow: Command = {
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, { options: ['trust-domain', 'output'] })
    const output = option(args, 'output')
    checkOutput(output)
    if (args.positionals.length !== 1) throw new UsageError('expected one bundle FILE')
    try {
      const { format, set, named } = loadBundles(args.positionals[0]!, option(args, 'trust-domain'), false)
      const bundles = await Promise.all([...set].map((b) => describeBundle(b, named)))
      if (output === 'json') io.out(JSON.stringify(format === 'map' ? { format, bundles } : { format, ...bundles[0] }))
      else {
        for (const b of bundles) {
          io.out(`${format} bundle${b.trustDomain !== null ? ` of spiffe://${b.trustDomain}` : ''}`)
          if (b.sequence !== null) io.out(`sequence: ${b.sequence}`)
          if (b.refreshHintSeconds !== null) io.out(`refresh hint: ${b.refreshHintSeconds}s`)
          io.out(`x509 authorities: ${b.x509Authorities.length}`)
          for (const a of b.x509Authorities) io.out(`  ${a.subject}  notAfter ${a.notAfter}  sha256 ${a.sha256}`)
          io.out(`jwt authorities: ${b.jwtAuthorities.length}`)
          for (const a of b.jwtAuthorities) io.out(`  ${a.kid}  ${a.key}`)
        }
      }
      return EXIT_OK
    } catch (e) {
      if (!isVerifyError(e)) throw e
      io.out(output === 'json' ? JSON.stringify({ valid: false, error: e.toJSON() }) : `invalid: ${e.code}: ${e.message}`)
      return EXIT_INVALID
    }
  },
}
