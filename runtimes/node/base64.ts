import { Buffer } from 'node:buffer'

const STD = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const VALUE = new Int8Array(128).fill(-1)
for (let i = 0; i < 64; i++) VALUE[STD.charCodeAt(i)] = i
const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const VALUE_URL = new Int8Array(128).fill(-1)
for (let i = 0; i < 64; i++) VALUE_URL[URL_SAFE.charCodeAt(i)] = i

/**
 * Whether every UTF-16 code unit of `text` is below 0x80: Buffer's decoders read only the low byte
 * of a wider one (Node 20: U+0141 decodes as 'A', U+FF3A as 'Z'), so without this a character
 * beyond ASCII passes for an alphabet character. Its UTF-8 length equals its length exactly then
 * (native, ~0.6 µs on a 5,000-character token).
 */
const isAscii = (text: string): boolean => Buffer.byteLength(text, 'utf8') === text.length

/**
 * Platform.decodeBase64 on Buffer (Node and Bun): native decoding, accepting exactly the
 * canonical padded encodings. Buffer's decoder is forgiving (it skips characters outside the
 * alphabet, stops at '=', takes base64url's '-' and '_'), so canonical form is checked around it:
 * a length that is a multiple of 4, no '-' or '_', the exact decoded length (anything skipped or
 * cut short shows there), and zero padding bits. test/runtimes/node/base64.test.ts holds this to
 * core's strict decoder on random text. Small results are views into Buffer's allocation pool
 * (no ArrayBuffer of their own, ~1 µs each on Node 20); core honours byteOffset and never reads
 * outside a view. They come back as plain Uint8Arrays: a Buffer's `slice` would alias.
 */
export function decodeBase64Canonical(text: string): Uint8Array | undefined {
  const n = text.length
  if (n % 4 !== 0 || !isAscii(text) || text.indexOf('-') !== -1 || text.indexOf('_') !== -1) return undefined
  const pad = n === 0 ? 0 : text.charCodeAt(n - 1) !== 0x3d ? 0 : text.charCodeAt(n - 2) === 0x3d ? 2 : 1
  const out = Buffer.from(text, 'base64')
  if (out.length !== (n / 4) * 3 - pad) return undefined
  if (pad !== 0) {
    // the last data character carries unused low bits: 4 of them before "==", 2 before "="
    const v = VALUE[text.charCodeAt(n - pad - 1)] ?? -1
    if (v < 0 || (v & (pad === 2 ? 0x0f : 0x03)) !== 0) return undefined
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length)
}

/** Platform.encodeBase64 on Buffer: standard padded base64 of a view, without copying it first. */
export function encodeBase64Buffer(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64')
}

/**
 * Platform.decodeBase64Url on Buffer: unpadded base64url (RFC 4648 §5), exactly the canonical
 * encodings core's fromBase64Url accepts. Buffer's decoder also takes '+', '/' and '=' and skips
 * characters outside the alphabet, so those are refused and the decoded length checked (a skipped
 * character shortens it), with the unused low bits of a final partial group zero.
 */
export function decodeBase64UrlCanonical(text: string): Uint8Array | undefined {
  const n = text.length
  const rest = n % 4
  if (rest === 1 || !isAscii(text) || text.indexOf('+') !== -1 || text.indexOf('/') !== -1 || text.indexOf('=') !== -1) return undefined
  const out = Buffer.from(text, 'base64url')
  if (out.length !== (n - rest) * 0.75 + (rest === 0 ? 0 : rest - 1)) return undefined
  if (rest !== 0) {
    // the last character carries unused low bits: 4 of them after 2 characters, 2 after 3
    const v = VALUE_URL[text.charCodeAt(n - 1)] ?? -1
    if (v < 0 || (v & (rest === 2 ? 0x0f : 0x03)) !== 0) return undefined
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.length)
}

/** Platform.encodeBase64Url on Buffer: unpadded base64url of a view, without copying it first. */
export function encodeBase64UrlBuffer(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('base64url')
}
