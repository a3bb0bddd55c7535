import { parsePemBlocks } from '../../core/bytes/pem.ts'
import { isVerifyError } from '../../core/errors.ts'
import { ekPublicHash } from '../../core/ek/public-hash.ts'
import { EK_TOLERANCES } from '../../core/der/tolerance.ts'
import { parseCertificate } from '../../core/x509/certificate.ts'
import { parseArgs, UsageError, jsonOutput } from '../args.ts'
import { EXIT_INVALID, EXIT_OK, type Command } from '../command.ts'
import { readInput } from '../files.ts'
import { parsePublicArea } from '../../core/tpm2/public.ts'
import { publicKeyFromTpmtPublic } from '../../core/tpm2/public-key.ts'
import { encodeSubjectPublicKeyInfo } from '../../core/x509/spki.ts'

const USAGE =
  'vouch ek hash [--output json] FILE\n' +
  '  FILE  an EK certificate (PEM or DER; NV padding after the DER is ignored) or a PEM/DER public key,\n' +
  '        or the EK public area (TPM2B_PUBLIC or TPMT_PUBLIC, as tpm2_createek -u writes it)\n' +
  '  prints the EK public hash: hex SHA-256 of the SubjectPublicKeyInfo DER (as\n' +
  '  `openssl x509 -pubkey -noout | openssl pkey -pubin -outform DER | sha256sum`)'

/** The SPKI DER in a file holding an EK certificate or a public key. */
function loadSpki(path: string): { spki: Uint8Array; source: 'certificate' | 'public-key' | 'tpm-public' } {
  const bytes = readInput(path, 'EK file')
  const head = new TextDecoder().decode(bytes.subarray(0, Math.min(bytes.length, 4096)))
  if (head.includes('-----BEGIN')) {
    const blocks = parsePemBlocks(new TextDecoder().decode(bytes), path)
    const block = blocks.find((b) => b.label === 'CERTIFICATE' || b.label === 'PUBLIC KEY')
    if (!block) throw new UsageError(`${path}: no CERTIFICATE or PUBLIC KEY PEM block`)
    if (block.label === 'PUBLIC KEY') return { spki: block.der, source: 'public-key' }
    return { spki: parseCertificate(block.der, { tolerate: EK_TOLERANCES }).spki, source: 'certificate' }
  }
  // DER starts with a SEQUENCE (0x30); a TPM2B_PUBLIC / TPMT_PUBLIC (tpm2_createek -u, TPM2_ReadPublic) does not
  if (bytes[0] !== 0x30)
    return { spki: encodeSubjectPublicKeyInfo(publicKeyFromTpmtPublic(parsePublicArea(bytes, 'EK public'))), source: 'tpm-public' }
  try {
    return { spki: parseCertificate(bytes, { tolerate: EK_TOLERANCES }).spki, source: 'certificate' }
  } catch (e) {
    if (!isVerifyError(e)) throw e
    return { spki: bytes, source: 'public-key' }
  }
}

export const ekHash: Command = {
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, { options: ['output'] })
    const output = jsonOutput(args) ? 'json' : 'text'
    if (args.positionals.length !== 1) throw new UsageError('expected one FILE')
    const path = args.positionals[0]!
    try {
      const { spki, source } = loadSpki(path)
      const hash = await ekPublicHash(spki)
      io.out(output === 'json' ? JSON.stringify({ ekPublicHash: hash, source }) : hash)
      return EXIT_OK
    } catch (e) {
      if (!isVerifyError(e)) throw e
      io.out(output === 'json' ? JSON.stringify({ error: e.toJSON() }) : `invalid: ${e.code}: ${e.message}`)
      return EXIT_INVALID
    }
  },
}
