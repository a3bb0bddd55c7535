import { isVerifyError } from '../../core/errors.ts'
import { parsePemBlocks } from '../../core/bytes/pem.ts'
import { matchId } from '../../core/svid/match.ts'
import { verifyX509Svid } from '../../core/svid/x509-svid.ts'
import { formatName } from '../../core/x509/name.ts'
import { parseArgs, option, requireOption, UsageError, jsonOutput } from '../args.ts'
import { EXIT_INVALID, EXIT_OK, type Command } from '../command.ts'
import { readInput } from '../files.ts'
import { loadBundles } from './bundle-show.ts'

const USAGE =
  'vouch verify x509-svid --bundle FILE [--trust-domain TD] [--id ID] [--at RFC3339] [--output json] CHAIN\n' +
  '  FILE: a bundle map, or the SPIFFE bundle (JWKS) or PEM authorities of one trust domain (named by\n' +
  '  --trust-domain or by the spiffe:// URI SAN of its CA certificates). CHAIN: PEM (leaf first, then intermediates) or one DER.'

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/

/** `--at` as ms since the epoch. */
export function parseAt(text: string | undefined): number | undefined {
  if (text === undefined) return undefined
  if (!RFC3339.test(text) || Number.isNaN(Date.parse(text))) throw new UsageError(`--at ${text} is not an RFC 3339 date-time`)
  return Date.parse(text)
}

export const verifyX509SvidCommand: Command = {
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, { options: ['bundle', 'trust-domain', 'id', 'at', 'output'] })
    const output = jsonOutput(args) ? 'json' : 'text'
    const bundlePath = requireOption(args, 'bundle')
    const at = parseAt(option(args, 'at'))
    if (args.positionals.length !== 1) throw new UsageError('expected one CHAIN file')
    const chainBytes = readInput(args.positionals[0]!, 'chain')
    const idText = option(args, 'id')
    try {
      let matcher
      try {
        matcher = idText === undefined ? undefined : matchId(idText)
      } catch (e) {
        throw new UsageError(`--id ${idText}: ${e instanceof Error ? e.message : String(e)}`)
      }
      const { set: bundle } = loadBundles(bundlePath, option(args, 'trust-domain'), true)
      const head = new TextDecoder().decode(chainBytes.subarray(0, 4096))
      const chain = head.includes('-----BEGIN') ? new TextDecoder().decode(chainBytes) : [chainBytes]
      if (typeof chain === 'string' && parsePemBlocks(chain, args.positionals[0]!).length === 0)
        throw new UsageError('CHAIN has no PEM blocks')
      const r = await verifyX509Svid(chain, bundle, { ...(matcher ? { matcher } : {}), ...(at !== undefined ? { at } : {}) })
      const path = r.verifiedChain.map((c) => ({ subject: formatName(c.subject), notAfter: new Date(c.notAfter).toISOString() }))
      if (output === 'json') io.out(JSON.stringify({ valid: true, spiffeId: r.id.toString(), trustDomain: r.id.trustDomain.name, path }))
      else {
        io.out(`valid ${r.id}`)
        path.forEach((c, i) => {
          io.out(`  ${i}: ${c.subject}${i === path.length - 1 ? ' (bundle authority)' : ''}`)
        })
      }
      return EXIT_OK
    } catch (e) {
      if (!isVerifyError(e)) throw e
      io.out(output === 'json' ? JSON.stringify({ valid: false, error: e.toJSON() }) : `invalid: ${e.code}: ${e.message}`)
      return EXIT_INVALID
    }
  },
}
