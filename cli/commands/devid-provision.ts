import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parsePemCertificates, toPem } from '../../core/bytes/pem.ts'
import { TpmClient } from '../../agent/tpm/client.ts'
import { openTransport } from '../../agent/tpm/open.ts'
import { provisionDevIdKey } from '../../agent/tpm/provision.ts'
import { issueDevIdCertificate, makeDevIdCsr } from '../../agent/devid-provision.ts'
import { option, parseArgs, UsageError } from '../args.ts'
import { EXIT_OK, type Command } from '../command.ts'

const USAGE =
  'vouch devid provision [--tpm DEVICE|TCTI] [--tpm-bridge auto|pure|native] [--key-type rsa|ecc]\n' +
  '    [--password PW] [--owner-password PW] [--out-dir DIR] [--subject-cn CN] [--days N]\n' +
  '    (--ca-cert FILE --ca-key FILE | --csr) [--output json]\n' +
  "  creates a DevID key in the TPM under SPIRE's SRK-High template, writes DIR/devid.pub (TPMT_PUBLIC)\n" +
  "  and DIR/devid.priv (TPM2B_PRIVATE contents, no size prefixes: SPIRE's format), then DIR/devid.pem\n" +
  '  issued by the CA, or DIR/devid.csr (PEM PKCS#10 signed by the TPM key) with --csr'

export const devidProvision: Command = {
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, {
      flags: ['csr'],
      options: [
        'tpm',
        'tpm-bridge',
        'key-type',
        'password',
        'owner-password',
        'out-dir',
        'subject-cn',
        'days',
        'ca-cert',
        'ca-key',
        'output',
      ],
    })
    const kind = option(args, 'key-type') ?? 'rsa'
    if (kind !== 'rsa' && kind !== 'ecc') throw new UsageError('--key-type must be rsa or ecc')
    const bridge = option(args, 'tpm-bridge') ?? 'auto'
    if (bridge !== 'auto' && bridge !== 'pure' && bridge !== 'native') throw new UsageError('--tpm-bridge must be auto, pure or native')
    const csr = args.options.has('csr')
    const caCert = option(args, 'ca-cert')
    const caKey = option(args, 'ca-key')
    if (!csr && (!caCert || !caKey)) throw new UsageError('give --ca-cert and --ca-key, or --csr')
    const days = Number(option(args, 'days') ?? '365')
    if (!Number.isInteger(days) || days <= 0) throw new UsageError('--days must be a positive integer')
    const outDir = option(args, 'out-dir') ?? '.'
    const subject = [{ type: 'CN', value: option(args, 'subject-cn') ?? 'vouch DevID' }]
    const password = option(args, 'password') ?? ''
    const ownerPassword = option(args, 'owner-password') ?? ''
    let caCertDer: Uint8Array | undefined
    let caKeyPem: string | undefined
    if (!csr) {
      try {
        caCertDer = parsePemCertificates(await readFile(caCert!, 'utf8'), caCert!)[0]
        caKeyPem = await readFile(caKey!, 'utf8')
      } catch (e) {
        throw new UsageError(`read CA: ${(e as Error).message}`)
      }
      if (!caCertDer) throw new UsageError(`${caCert}: no CERTIFICATE PEM block`)
    }

    const transport = await openTransport(option(args, 'tpm'), { bridge })
    const client = new TpmClient(transport)
    const out: Record<string, string> = { transport: transport.description }
    try {
      const blobs = await provisionDevIdKey(client, { kind, password, ownerHierarchyPassword: ownerPassword })
      await mkdir(outDir, { recursive: true })
      out.pub = join(outDir, 'devid.pub')
      out.priv = join(outDir, 'devid.priv')
      await writeFile(out.pub, blobs.pub)
      await writeFile(out.priv, blobs.priv, { mode: 0o600 })
      if (csr) {
        out.csr = join(outDir, 'devid.csr')
        await writeFile(out.csr, toPem('CERTIFICATE REQUEST', await makeDevIdCsr(client, blobs, subject, password, ownerPassword)))
      } else {
        out.cert = join(outDir, 'devid.pem')
        const der = await issueDevIdCertificate(blobs.public, caCertDer!, caKeyPem!, subject, days)
        await writeFile(out.cert, toPem('CERTIFICATE', der))
      }
    } finally {
      await client.close()
    }
    if (option(args, 'output') === 'json') io.out(JSON.stringify(out))
    else for (const [k, v] of Object.entries(out)) io.out(`${k}: ${v}`)
    return EXIT_OK
  },
}
