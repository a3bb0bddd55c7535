import { fromHex } from '../../core/bytes/encoding.ts'
import { parsePemBlocks } from '../../core/bytes/pem.ts'
import type { PublicKey } from '../../core/crypto/provider.ts'
import { isVerifyError } from '../../core/errors.ts'
import { checkEventLogAgainstQuote } from './verify-quote-eventlog.ts'
import { splitPcrValues } from '../../core/quote/pcr-digest.ts'
import { verifyQuote } from '../../core/quote/verify.ts'
import { parseTpmsAttest } from '../../core/tpm2/attest.ts'
import { algName, TPM_ALG, TPM_ST } from '../../core/tpm2/constants.ts'
import { parsePublicArea, type TPMT_PUBLIC } from '../../core/tpm2/public.ts'
import { parseTpmtSignature, signatureFromPlain, type TPMT_SIGNATURE } from '../../core/tpm2/signature.ts'
import { parseSubjectPublicKeyInfo } from '../../core/x509/spki.ts'
import { ecdsaDerToP1363 } from '../../core/crypto/ecdsa-signature.ts'
import { parseArgs, option, requireOption, UsageError, jsonOutput } from '../args.ts'
import { quirksOption } from './eventlog-input.ts'
import { EXIT_INVALID, EXIT_OK, type Command } from '../command.ts'
import { readInput } from '../files.ts'

const USAGE = `vouch verify quote --ak FILE --attest FILE --signature FILE --nonce HEX --pcrs FILE --selection BANK:PCRS[+BANK:PCRS]
                   [--eventlog LOG [--quirk NAME[,NAME]]] [--output json]
  --ak         the AK as TPM2B_PUBLIC or TPMT_PUBLIC (its scheme is enforced), or a PEM public key
  --attest     the TPMS_ATTEST bytes (tpm2_quote -m)
  --signature  a TPMT_SIGNATURE (tpm2_quote -f tss) or a plain signature (-f plain: raw RSA, DER ECDSA);
               a plain signature with a PEM AK is taken as RSASSA / ECDSA with SHA-256
  --pcrs       PCR values concatenated in selection order (tpm2_quote -F values)
  --selection  e.g. sha256:0,1,2,7 or sha1:0+sha256:7; must equal the quoted selection
  --eventlog   a TCG event log: also check that it replays to the quoted PCR values (ERR_EVENTLOG_REPLAY_MISMATCH)
  --quirk      firmware quirks the event log check tolerates (exit-boot-services-missing, shim-authority-size)`

const BANKS: Record<string, number> = { sha1: TPM_ALG.SHA1, sha256: TPM_ALG.SHA256, sha384: TPM_ALG.SHA384, sha512: TPM_ALG.SHA512 }

function parseSelection(text: string): { hash: number; pcrs: number[] }[] {
  return text.split('+').map((part) => {
    const m = /^(sha1|sha256|sha384|sha512):(\d+(?:,\d+)*)$/.exec(part)
    if (!m) throw new UsageError(`--selection ${text}: expected BANK:PCR[,PCR...] with BANK sha1|sha256|sha384|sha512`)
    const pcrs = m[2]!.split(',').map(Number)
    if (pcrs.some((p) => p > 31)) throw new UsageError(`--selection ${text}: PCR index above 31`)
    return { hash: BANKS[m[1]!]!, pcrs: [...new Set(pcrs)].sort((a, b) => a - b) }
  })
}

function readAk(path: string): TPMT_PUBLIC | PublicKey {
  const bytes = readInput(path, 'AK')
  const text = new TextDecoder().decode(bytes.subarray(0, 64))
  if (text.includes('-----BEGIN')) {
    const block = parsePemBlocks(new TextDecoder().decode(bytes), path).find((b) => b.label === 'PUBLIC KEY')
    if (!block) throw new UsageError(`${path}: no PUBLIC KEY PEM block`)
    return parseSubjectPublicKeyInfo(block.der)
  }
  return parsePublicArea(bytes, 'AK public')
}

function readSignature(bytes: Uint8Array, ak: TPMT_PUBLIC | PublicKey): TPMT_SIGNATURE {
  // a TPMT_SIGNATURE starts with RSASSA/RSAPSS/ECDSA (00 14 / 00 16 / 00 18) and a hash id
  const head = bytes.length > 4 ? (bytes[0]! << 8) | bytes[1]! : 0
  if (head === TPM_ALG.RSASSA || head === TPM_ALG.RSAPSS || head === TPM_ALG.ECDSA) {
    try {
      return parseTpmtSignature(bytes)
    } catch {
      // fall through: a plain signature that happens to start with those bytes
    }
  }
  if (!('kty' in ak)) return signatureFromPlain(bytes, ak)
  if (ak.kty === 'RSA') return { raw: bytes, sigAlg: TPM_ALG.RSASSA, hash: TPM_ALG.SHA256, sig: bytes }
  const size = ak.x.length
  const p1363 = ecdsaDerToP1363(bytes, size)
  return { raw: bytes, sigAlg: TPM_ALG.ECDSA, hash: TPM_ALG.SHA256, r: p1363.subarray(0, size), s: p1363.subarray(size) }
}

export const verifyQuoteCommand: Command = {
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, { options: ['ak', 'attest', 'signature', 'nonce', 'pcrs', 'selection', 'output', 'eventlog', 'quirk'] })
    const json = jsonOutput(args)
    const nonceHex = requireOption(args, 'nonce')
    if (!/^([0-9a-fA-F]{2})*$/.test(nonceHex)) throw new UsageError('--nonce must be hex')
    const selection = parseSelection(requireOption(args, 'selection'))
    const ak = readAk(requireOption(args, 'ak'))
    const attestBytes = readInput(requireOption(args, 'attest'), 'attest')
    const sigBytes = readInput(requireOption(args, 'signature'), 'signature')
    const pcrBytes = readInput(requireOption(args, 'pcrs'), 'PCR values')
    const eventlogPath = option(args, 'eventlog')
    const eventlogBytes = eventlogPath === undefined ? undefined : readInput(eventlogPath, 'event log')
    const quirks = quirksOption(args)
    if (args.positionals.length) throw new UsageError(`unexpected argument ${args.positionals[0]}`)
    try {
      const attest = parseTpmsAttest(attestBytes)
      if (attest.type !== TPM_ST.ATTEST_QUOTE) throw new UsageError('--attest is not a quote (TPM_ST_ATTEST_QUOTE)')
      const quoted = attest.attested.pcrSelect.map((s) => `${algName(s.hash).toLowerCase()}:${s.pcrs.join(',')}`).join('+')
      const asked = selection.map((s) => `${algName(s.hash).toLowerCase()}:${s.pcrs.join(',')}`).join('+')
      if (quoted !== asked) {
        const e = { code: 'ERR_QUOTE_PCR_SELECTION', message: `the quote selects ${quoted}, --selection says ${asked}` }
        io.out(json ? JSON.stringify({ valid: false, error: e }) : `quote: INVALID\n  ${e.code}: ${e.message}`)
        return EXIT_INVALID
      }
      const pcrValues = splitPcrValues(attest.attested.pcrSelect, pcrBytes)
      const result = await verifyQuote({ ak, attest, signature: readSignature(sigBytes, ak), nonce: fromHex(nonceHex), pcrValues })
      const eventlog = eventlogBytes && (await checkEventLogAgainstQuote(eventlogBytes, attest.attested.pcrSelect, pcrValues, quirks))
      const summary = {
        valid: true,
        selection: quoted,
        clock: result.clockInfo.clock.toString(),
        resetCount: result.clockInfo.resetCount,
        restartCount: result.clockInfo.restartCount,
        safe: result.clockInfo.safe,
        firmwareVersion: `0x${result.firmwareVersion.toString(16)}`,
        ...(eventlog ? { eventlog } : {}),
      }
      io.out(
        json
          ? JSON.stringify(summary)
          : `quote: VALID\n  signature, nonce and PCR digest (${quoted}) verify\n  clock ${summary.clock}, resetCount ${summary.resetCount}, firmware ${summary.firmwareVersion}${
              eventlog
                ? `\n  event log replays to PCRs ${eventlog.verifiedPcrs.join(',')}${eventlog.quirksUsed.length ? ` (quirks used: ${eventlog.quirksUsed.join(', ')})` : ''}; secure boot ${eventlog.secureBoot}`
                : ''
            }`,
      )
      return EXIT_OK
    } catch (e) {
      if (!isVerifyError(e)) throw e
      io.out(json ? JSON.stringify({ valid: false, error: e.toJSON() }) : `quote: INVALID\n  ${e.code}: ${e.message}`)
      return EXIT_INVALID
    }
  },
}
