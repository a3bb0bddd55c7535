import { EncodingError } from '../errors.ts'
import { fromBase64, toBase64 } from './encoding.ts'

export interface PemBlock {
  label: string
  der: Uint8Array<ArrayBuffer>
}

const BEGIN = '-----BEGIN '
const END = '-----END '
const DASHES = '-----'

/** The index after a label ([A-Z0-9 ]+) starting at `i`, or `i` when there is none. */
function scanLabel(text: string, i: number): number {
  let j = i
  for (;;) {
    const c = text.charCodeAt(j)
    if ((c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x20) j++
    else return j
  }
}

/** The body between `start` and `end` without its line breaks (LF or CRLF), as slices joined. */
function joinLines(text: string, start: number, end: number): string {
  let out = ''
  let i = start
  for (;;) {
    const nl = text.indexOf('\n', i)
    if (nl < 0 || nl >= end) return out + text.slice(i, end)
    out += text.slice(i, nl > i && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl)
    i = nl + 1
  }
}

/**
 * Every PEM block in `text` (RFC 7468), in order. Text between blocks is ignored (as openssl
 * and Go's pem.Decode do, so bundles with comments work). A block is `-----BEGIN <label>-----`,
 * a line break, the body, and the first `-----END <label>-----` after it; a BEGIN line that is
 * not well formed, or has no END after it, is ignored. A block whose END label differs from its
 * BEGIN label, or whose body (whitespace removed) is not base64, is an error naming the block.
 * `decode` is a platform's fast base64 path (Platform.decodeBase64): bodies it does not take are
 * decoded by core's strict decoder, which names the fault. Linear in the text's length.
 */
export function parsePemBlocks(text: string, what = 'PEM', decode?: (b64: string) => Uint8Array | undefined): PemBlock[] {
  const blocks: PemBlock[] = []
  let at = 0
  for (;;) {
    const b = text.indexOf(BEGIN, at)
    if (b < 0) break
    const l0 = b + BEGIN.length
    const l1 = scanLabel(text, l0)
    let bodyStart = -1
    if (l1 > l0 && text.startsWith(DASHES, l1)) {
      let p = l1 + DASHES.length
      if (text.charCodeAt(p) === 0x0d) p++
      if (text.charCodeAt(p) === 0x0a) bodyStart = p + 1
    }
    if (bodyStart < 0) {
      at = b + 1
      continue
    }
    let e = text.indexOf(END, bodyStart)
    let m1 = -1
    while (e >= 0) {
      const m0 = e + END.length
      m1 = scanLabel(text, m0)
      if (m1 > m0 && text.startsWith(DASHES, m1)) break
      e = text.indexOf(END, e + 1)
    }
    // no END after this BEGIN: none after any later BEGIN either
    if (e < 0) break
    const begin = text.slice(l0, l1)
    const end = text.slice(e + END.length, m1)
    if (begin !== end) {
      throw new EncodingError('ERR_ENCODING_MALFORMED', `${what}: block ${blocks.length} begins "${begin}" but ends "${end}"`)
    }
    // the usual body is base64 lines: the fast path takes them joined; any other whitespace (or
    // a fault) goes to core's strict decoder with all whitespace removed, which names the fault
    const lines = joinLines(text, bodyStart, e)
    const der =
      (decode?.(lines) as Uint8Array<ArrayBuffer> | undefined) ??
      fromBase64(lines.replace(/\s+/g, ''), `${what}: block ${blocks.length} (${begin})`)
    blocks.push({ label: begin, der })
    at = m1 + DASHES.length
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
