import { statSync } from 'node:fs'
import { isVerifyError } from '../../core/errors.ts'
import { fromUtf8 } from '../../core/bytes/encoding.ts'
import { verifyJwtSvid } from '../../core/svid/jwt-svid.ts'
import { matchId } from '../../core/svid/match.ts'
import { parseArgs, option, requireOption, UsageError, jsonOutput } from '../args.ts'
import { EXIT_INVALID, EXIT_OK, type Command } from '../command.ts'
import { readInput } from '../files.ts'
import { loadBundles } from './bundle-show.ts'
import { parseAt } from './verify-x509-svid.ts'

const USAGE =
  'vouch verify jwt-svid --bundle FILE --audience AUD [--trust-domain TD] [--id ID] [--at RFC3339]\n' +
  '                      [--skew SECONDS] [--output json] TOKEN_OR_FILE\n' +
  '  FILE: a bundle map, or the SPIFFE bundle (JWKS) of the trust domain named by --trust-domain\n' +
  '  (or by its CA certificates).\n' +
  '  --audience may list several audiences separated by commas; aud must contain one of them.\n' +
  '  TOKEN_OR_FILE: the compact JWT, or a file holding it. An argument naming no file is taken as the\n' +
  '  token: a malformed one is invalid (exit 1, ERR_JWT_SVID_INVALID); a missing path (with a /) exits 2.'

const TOKEN = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/

/**
 * The token itself, or read from the file the argument names. A compact JWS never holds a slash or
 * a backslash, so an argument with one that is not a readable file is an unreadable file (exit 2);
 * any other argument that names no file is taken as the token, and a malformed one is an invalid
 * token (exit 1, ERR_JWT_SVID_INVALID), not a missing file.
 */
function readToken(arg: string): string {
  if (TOKEN.test(arg)) return arg
  let isFile = false
  try {
    isFile = statSync(arg).isFile()
  } catch {
    // no such file: a token, unless the argument is shaped like a path
  }
  if (!isFile && !/[/\\]/.test(arg)) return arg
  const bytes = readInput(arg, 'token file')
  try {
    return fromUtf8(bytes, arg).trim()
  } catch {
    throw new UsageError(`${arg}: not a utf-8 token file`, 'ERR_FILE_UNREADABLE')
  }
}

export const verifyJwtSvidCommand: Command = {
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, { options: ['bundle', 'audience', 'trust-domain', 'id', 'at', 'skew', 'output'] })
    const output = jsonOutput(args) ? 'json' : 'text'
    const bundlePath = requireOption(args, 'bundle')
    const audience = requireOption(args, 'audience')
      .split(',')
      .filter((a) => a !== '')
    if (audience.length === 0) throw new UsageError('--audience needs at least one audience')
    const at = parseAt(option(args, 'at'))
    const skewText = option(args, 'skew')
    const skew = skewText === undefined ? 0 : Number(skewText)
    if (!Number.isInteger(skew) || skew < 0) throw new UsageError(`--skew ${skewText} is not a non-negative integer`)
    if (args.positionals.length !== 1) throw new UsageError('expected one TOKEN or token FILE')
    const token = readToken(args.positionals[0]!)
    const idText = option(args, 'id')
    let matcher
    try {
      matcher = idText === undefined ? undefined : matchId(idText)
    } catch (e) {
      throw new UsageError(`--id ${idText}: ${e instanceof Error ? e.message : String(e)}`)
    }
    try {
      const { set: bundle } = loadBundles(bundlePath, option(args, 'trust-domain'), true)
      const r = await verifyJwtSvid(token, bundle, {
        audience,
        clockSkewSeconds: skew,
        ...(matcher ? { matcher } : {}),
        ...(at !== undefined ? { at } : {}),
      })
      const expiry = new Date(r.expiry * 1000).toISOString()
      if (output === 'json') {
        io.out(JSON.stringify({ valid: true, spiffeId: r.id.toString(), audience: r.audience, expiry, header: r.header, claims: r.claims }))
      } else io.out(`valid ${r.id} (aud ${r.audience.join(', ')}; expires ${expiry}; kid ${r.header.kid})`)
      return EXIT_OK
    } catch (e) {
      if (!isVerifyError(e)) throw e
      io.out(output === 'json' ? JSON.stringify({ valid: false, error: e.toJSON() }) : `invalid: ${e.code}: ${e.message}`)
      return EXIT_INVALID
    }
  },
}
