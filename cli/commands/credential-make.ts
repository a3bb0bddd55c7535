import { writeFileSync } from 'node:fs'
import { option, parseArgs, requireOption, UsageError } from '../args.ts'
import { EXIT_OK, type Command } from '../command.ts'
import { readInput } from '../files.ts'
import { fromHex, toHex } from '../../core/bytes/encoding.ts'
import { parsePemBlocks } from '../../core/bytes/pem.ts'
import { encodeCredentialFile } from '../../core/credential/credential-file.ts'
import { credentialEkFromPublicKey, type CredentialEk } from '../../core/credential/ek.ts'
import { makeCredential } from '../../core/credential/make-credential.ts'
import { isVerifyError } from '../../core/errors.ts'
// TPMT_PUBLIC reading: core/attestor/tpm.ts today (switch to core/tpm2/public.ts when it lands)
import { credentialEkOf, parseTpmKey } from '../../core/attestor/tpm.ts'
import { parseCertificate } from '../../core/x509/certificate.ts'
import { parseSubjectPublicKeyInfo } from '../../core/x509/spki.ts'

const USAGE =
  'vouch credential make --ek FILE --name HEX --secret FILE --out FILE [--seed-bytes N] [--output json]\n' +
  '  --ek      the EK: TPM2B_PUBLIC or TPMT_PUBLIC (tpm2_createek -u, tpm2_readpublic -o), or a PEM/DER\n' +
  '            public key or EK certificate (then the TCG default template is assumed: SHA-256, AES-128-CFB)\n' +
  '  --name    the AK Name in hex (u16 nameAlg || digest), as tpm2_makecredential -n takes it\n' +
  '  --secret  the secret to wrap (1..digest-size bytes of the EK nameAlg; 32 for SHA-256)\n' +
  '  --out     where to write the tpm2-tools credential file (tpm2_activatecredential -i)'

interface LoadedEk {
  ek: CredentialEk
  source: 'tpm2b-public' | 'tpmt-public' | 'spki' | 'certificate'
}

/** The EK from a file: PEM (PUBLIC KEY / CERTIFICATE), DER SPKI or certificate, or a TPM public area. */
function loadEk(path: string): LoadedEk {
  const bytes = readInput(path, 'EK file')
  const head = new TextDecoder().decode(bytes.subarray(0, 64))
  if (head.includes('-----BEGIN')) {
    const blocks = parsePemBlocks(new TextDecoder().decode(bytes), path)
    const block = blocks.find((b) => b.label === 'PUBLIC KEY' || b.label === 'CERTIFICATE')
    if (!block) throw new UsageError(`${path}: no PUBLIC KEY or CERTIFICATE PEM block`)
    return block.label === 'PUBLIC KEY'
      ? { ek: credentialEkFromPublicKey(parseSubjectPublicKeyInfo(block.der)), source: 'spki' }
      : { ek: credentialEkFromPublicKey(parseCertificate(block.der, { allowTrailingData: true }).publicKey), source: 'certificate' }
  }
  if (bytes[0] === 0x30) {
    // SPKI and Certificate are both SEQUENCEs; an SPKI's first element is the AlgorithmIdentifier
    try {
      return { ek: credentialEkFromPublicKey(parseSubjectPublicKeyInfo(bytes)), source: 'spki' }
    } catch (e) {
      if (!isVerifyError(e)) throw e
      // EK certificates read from NV are often padded: tolerate trailing bytes
      return { ek: credentialEkFromPublicKey(parseCertificate(bytes, { allowTrailingData: true }).publicKey), source: 'certificate' }
    }
  }
  return loadTpmPublic(bytes)
}

/**
 * TPM2B_PUBLIC (tpm2-tools `-f tss`, the default) when the leading u16 is the size of the rest,
 * else a bare TPMT_PUBLIC. The EK's own nameAlg and symmetric definition are used.
 */
function loadTpmPublic(bytes: Uint8Array): LoadedEk {
  const sized = bytes.length >= 2 && ((bytes[0]! << 8) | bytes[1]!) === bytes.length - 2
  const key = parseTpmKey(sized ? bytes.subarray(2) : bytes, sized ? 'EK TPM2B_PUBLIC' : 'EK TPMT_PUBLIC')
  return { ek: credentialEkOf(key), source: sized ? 'tpm2b-public' : 'tpmt-public' }
}

function describeEk(ek: CredentialEk) {
  const k = ek.publicKey
  return {
    type: k.kty === 'RSA' ? 'rsa' : 'ecc',
    ...(k.kty === 'RSA' ? { modulusBits: k.n.length * 8 } : { curve: k.crv }),
    nameAlg: ek.nameAlg,
    symmetric: `aes-${ek.symmetricKeyBits}-cfb`,
  }
}

export const credentialMake: Command = {
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, { options: ['ek', 'name', 'secret', 'out', 'seed-bytes', 'output'] })
    if (args.positionals.length > 0) throw new UsageError(`unexpected argument ${args.positionals[0]}`)
    const output = option(args, 'output') ?? 'text'
    if (output !== 'text' && output !== 'json') throw new UsageError('--output must be text or json')
    const out = requireOption(args, 'out')
    const nameHex = requireOption(args, 'name')
    const secretPath = requireOption(args, 'secret')
    const { ek, source } = loadEk(requireOption(args, 'ek'))
    let akName: Uint8Array
    try {
      akName = fromHex(nameHex, '--name')
    } catch {
      throw new UsageError('--name must be the AK Name in hex (e.g. 000b followed by 64 hex digits)')
    }
    const secret = readInput(secretPath, 'secret file')
    const seedText = option(args, 'seed-bytes')
    const seedBytes = seedText === undefined ? undefined : Number(seedText)
    if (seedBytes !== undefined && !Number.isSafeInteger(seedBytes)) throw new UsageError('--seed-bytes must be an integer')
    let made
    try {
      made = await makeCredential({ ekPublic: ek, akName, secret }, { seedBytes })
    } catch (e) {
      // the caller picked the secret and seed size: their sizes are usage errors, not verdicts
      if (e instanceof RangeError) throw new UsageError(e.message)
      throw e
    }
    try {
      writeFileSync(out, encodeCredentialFile(made))
    } catch (e) {
      throw new UsageError(`write ${out}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`)
    }
    const summary = {
      out,
      ek: { ...describeEk(ek), source },
      akName: toHex(akName),
      idObjectBytes: made.idObject.length,
      encSecretBytes: made.encSecret.length,
    }
    if (output === 'json') io.out(JSON.stringify(summary))
    else
      io.out(
        `wrote credential for a ${summary.ek.type} EK (${ek.nameAlg}, ${summary.ek.symmetric}, from ${source}) and AK name ${summary.akName} to ${out}`,
      )
    return EXIT_OK
  },
}
