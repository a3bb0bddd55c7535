import { EncodingError } from '../errors.ts'

const HEX = '0123456789abcdef'

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += HEX[b >> 4]! + HEX[b & 15]!
  return s
}

/** Strict hex: even length, [0-9a-fA-F] only. */
export function fromHex(text: string, what = 'hex'): Uint8Array<ArrayBuffer> {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) {
    throw new EncodingError('ERR_ENCODING_MALFORMED', `${what}: expected an even number of hex digits`)
  }
  const out = new Uint8Array(text.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16)
  return out
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
const decodeTables = new Map<string, Int16Array>()
function table(alphabet: string): Int16Array {
  let t = decodeTables.get(alphabet)
  if (!t) {
    t = new Int16Array(128).fill(-1)
    for (let i = 0; i < 64; i++) t[alphabet.charCodeAt(i)] = i
    decodeTables.set(alphabet, t)
  }
  return t
}

function encode(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let s = ''
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    s += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + alphabet[n & 63]!
  }
  const rest = bytes.length - i
  if (rest === 1) {
    const n = bytes[i]! << 16
    s += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + (pad ? '==' : '')
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8)
    s += alphabet[n >> 18]! + alphabet[(n >> 12) & 63]! + alphabet[(n >> 6) & 63]! + (pad ? '=' : '')
  }
  return s
}

function decode(text: string, alphabet: string, padded: boolean, what: string): Uint8Array<ArrayBuffer> {
  const bad = (why: string) => new EncodingError('ERR_ENCODING_MALFORMED', `${what}: ${why}`)
  let body = text
  if (padded) {
    if (body.length % 4 !== 0) throw bad('base64 length is not a multiple of 4')
    if (body.endsWith('==')) body = body.slice(0, -2)
    else if (body.endsWith('=')) body = body.slice(0, -1)
  }
  if (body.length % 4 === 1) throw bad('base64 length is impossible')
  const t = table(alphabet)
  const out = new Uint8Array(Math.floor((body.length * 3) / 4))
  let acc = 0
  let bits = 0
  let o = 0
  for (let i = 0; i < body.length; i++) {
    const c = body.charCodeAt(i)
    const v = c < 128 ? t[c]! : -1
    if (v < 0) throw bad(`invalid base64 character at position ${i}`)
    acc = (acc << 6) | v
    bits += 6
    if (bits >= 8) {
      bits -= 8
      out[o++] = (acc >> bits) & 0xff
    }
  }
  // non-canonical trailing bits (e.g. "AB==" instead of "AA==") are refused: strict parsing
  if ((acc & ((1 << bits) - 1)) !== 0) throw bad('base64 has non-zero padding bits')
  return out
}

/** Standard base64 with padding (RFC 4648 §4), as Go's encoding/json writes []byte. */
export function toBase64(bytes: Uint8Array): string {
  return encode(bytes, B64, true)
}

export function fromBase64(text: string, what = 'base64'): Uint8Array<ArrayBuffer> {
  return decode(text, B64, true, what)
}

/** base64url without padding (RFC 4648 §5), as JOSE uses it. */
export function toBase64Url(bytes: Uint8Array): string {
  return encode(bytes, B64URL, false)
}

export function fromBase64Url(text: string, what = 'base64url'): Uint8Array<ArrayBuffer> {
  return decode(text, B64URL, false, what)
}

const utf8Encoder = new TextEncoder()
const utf8Decoder = new TextDecoder('utf-8', { fatal: true })

export function utf8(text: string): Uint8Array<ArrayBuffer> {
  return utf8Encoder.encode(text) as Uint8Array<ArrayBuffer>
}

export function fromUtf8(bytes: Uint8Array, what = 'text'): string {
  try {
    return utf8Decoder.decode(bytes)
  } catch {
    throw new EncodingError('ERR_ENCODING_MALFORMED', `${what}: not valid UTF-8`)
  }
}
