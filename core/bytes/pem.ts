import { EncodingError } from '../errors.ts'
import { fromBase64, toBase64 } from './encoding.ts'

export interface PemBlock {
  label: string
  der: Uint8Array<ArrayBuffer>
}

const BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([\s\S]*?)-----END ([A-Z0-9 ]+)-----/g

/**
 * Every PEM block in `text` (RFC 7468), in order. Text between blocks is ignored (as openssl
 * and Go's pem.Decode do, so bundles with comments work). A block whose END label differs from
 * its BEGIN label, or whose body is not base64, is an error naming the block. `decode` is a
 * platform's fast base64 path (Platform.decodeBase64): bodies it does not take are decoded by
 * core's strict decoder, which names the fault.
 */
export function parsePemBlocks(text: string, what = 'PEM', decode?: (b64: string) => Uint8Array | undefined): PemBlock[] {
  const blocks: PemBlock[] = []
  for (const m of text.matchAll(BLOCK)) {
    const [, begin, body, end] = m
    if (begin !== end) {
      throw new EncodingError('ERR_ENCODING_MALFORMED', `${what}: block ${blocks.length} begins "${begin}" but ends "${end}"`)
    }
    const b64 = body!.replace(/\s+/g, '')
    const der = (decode?.(b64) as Uint8Array<ArrayBuffer> | undefined) ?? fromBase64(b64, `${what}: block ${blocks.length} (${begin})`)
    blocks.push({ label: begin!, der })
  }
  return blocks
}

/** The DER of every `CERTIFICATE` block; other labels are skipped. */
export function parsePemCertificates(text: string, what = 'PEM'): Uint8Array<ArrayBuffer>[] {
  return parsePemBlocks(text, what)
    .filter((b) => b.label === 'CERTIFICATE')
    .map((b) => b.der)
}

export function toPem(label: string, der: Uint8Array): string {
  const b64 = toBase64(der)
  const lines: string[] = []
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64))
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}
