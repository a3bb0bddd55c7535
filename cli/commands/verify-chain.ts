import { parsePemBlocks } from '../../core/bytes/pem.ts'
import { isVerifyError } from '../../core/errors.ts'
import { EK_TOLERANCES } from '../../core/der/tolerance.ts'
import { parseCertificate, type Certificate } from '../../core/x509/certificate.ts'
import { formatName } from '../../core/x509/name.ts'
import { verifyChain, type ChainProfile } from '../../core/x509/verify.ts'
import { parseArgs, option, requireOption, UsageError, jsonOutput } from '../args.ts'
import { EXIT_INVALID, EXIT_OK, type Command } from '../command.ts'
import { readInput } from '../files.ts'

const USAGE =
  'vouch verify chain --anchors FILE [--intermediates FILE] [--at RFC3339] [--profile none|ek|devid] [--output json] LEAF\n' +
  '  PEM files may hold several certificates; DER files hold one. --profile ek accepts the EK critical\n' +
  '  SAN and the named real-EK tolerances (NV padding, unsorted Nuvoton RDNs, explicit defaults, ...).'

const PROFILES: readonly ChainProfile[] = ['none', 'ek', 'devid']

/** Every certificate DER in a PEM or DER file. */
function readCertificates(path: string, what: string): Uint8Array[] {
  const bytes = readInput(path, what)
  const head = new TextDecoder().decode(bytes.subarray(0, Math.min(bytes.length, 4096)))
  if (!head.includes('-----BEGIN')) return [bytes]
  const certs = parsePemBlocks(new TextDecoder().decode(bytes), path).filter((b) => b.label === 'CERTIFICATE')
  if (certs.length === 0) throw new UsageError(`${path}: no CERTIFICATE PEM blocks`)
  return certs.map((b) => b.der)
}

function describe(c: Certificate): { subject: string; issuer: string; notBefore: string; notAfter: string } {
  return {
    subject: formatName(c.subject),
    issuer: formatName(c.issuer),
    notBefore: new Date(c.notBefore).toISOString(),
    notAfter: new Date(c.notAfter).toISOString(),
  }
}

export const verifyChainCommand: Command = {
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, { options: ['anchors', 'intermediates', 'at', 'profile', 'output'] })
    const anchorsPath = requireOption(args, 'anchors')
    const output = jsonOutput(args) ? 'json' : 'text'
    const profile = (option(args, 'profile') ?? 'none') as ChainProfile
    if (!PROFILES.includes(profile)) throw new UsageError(`--profile must be one of ${PROFILES.join(', ')}`)
    const atText = option(args, 'at')
    let at: number | undefined
    if (atText !== undefined) {
      if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(atText) || Number.isNaN(Date.parse(atText))) {
        throw new UsageError(`--at ${atText} is not an RFC 3339 date-time`)
      }
      at = Date.parse(atText)
    }
    if (args.positionals.length !== 1) throw new UsageError('expected one LEAF file')
    const leafDers = readCertificates(args.positionals[0]!, 'leaf certificate')
    if (leafDers.length !== 1) throw new UsageError(`${args.positionals[0]}: expected one leaf certificate, found ${leafDers.length}`)
    const anchors = readCertificates(anchorsPath, 'anchors file')
    const interPath = option(args, 'intermediates')
    const intermediates = interPath ? readCertificates(interPath, 'intermediates file') : []
    const tolerate = profile === 'ek' ? EK_TOLERANCES : []
    try {
      const parse = (d: Uint8Array) => parseCertificate(d, { tolerate })
      const chain = await verifyChain({
        leaf: parse(leafDers[0]!),
        intermediates: intermediates.map(parse),
        anchors: anchors.map(parse),
        profile,
        ...(at !== undefined ? { at } : {}),
      })
      if (output === 'json') {
        io.out(JSON.stringify({ valid: true, profile, path: chain.path.map(describe) }))
      } else {
        io.out('valid')
        chain.path.forEach((c, i) => {
          io.out(`  ${i}: ${formatName(c.subject)}${i === chain.path.length - 1 ? ' (anchor)' : ''}`)
        })
      }
      return EXIT_OK
    } catch (e) {
      if (!isVerifyError(e)) throw e
      io.out(output === 'json' ? JSON.stringify({ valid: false, profile, error: e.toJSON() }) : `invalid: ${e.code}: ${e.message}`)
      return EXIT_INVALID
    }
  },
}
