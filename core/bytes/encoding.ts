import { EncodingError } from '../errors.ts'

const HEX_PAIRS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i++) s += HEX_PAIRS[bytes[i]!]!
  return s
}

/** Both hex digits of a byte as one 16-bit unit, in this host's byte order (written through a Uint16Array). */
const HEX_UNITS = new Uint16Array(256)
const LITTLE_ENDIAN = new Uint8Array(Uint16Array.of(1).buffer)[0] === 1
for (let i = 0; i < 256; i++) {
  const hi = HEX_PAIRS[i]!.charCodeAt(0)
  const lo = HEX_PAIRS[i]!.charCodeAt(1)
  HEX_UNITS[i] = LITTLE_ENDIAN ? hi | (lo << 8) : (hi << 8) | lo
}

/**
 * toHex of `length` bytes of `source` at each of `starts`, for many at once (a dbx's hundreds of
 * hashes, read in place): each one's digits written as ASCII into one scratch buffer and decoded
 * natively. The strings come out flat, where toHex's concatenations leave a rope that the first
 * hash or compare of each must flatten (a dbx's hashes go straight into a Set).
 */
export function toHexAt(source: Uint8Array, starts: readonly number[], length: number): string[] {
  const units = new Uint16Array(length)
  const digits = new Uint8Array(units.buffer)
  const out: string[] = new Array(starts.length)
  for (let k = 0; k < starts.length; k++) {
    const at = starts[k]!
    if (at < 0 || at + length > source.length) throw new RangeError(`toHexAt: ${length} bytes at ${at} exceed ${source.length}`)
    for (let i = 0; i < length; i++) units[i] = HEX_UNITS[source[at + i]!]!
    out[k] = asciiDecoder.decode(digits)
  }
  return out
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
/** Per alphabet, four tables of a character's 6 bits already shifted into place; -2^24 marks a non-alphabet byte. */
const decodeTables = new Map<string, readonly Int32Array[]>()
function tables(alphabet: string): readonly Int32Array[] {
  let t = decodeTables.get(alphabet)
  if (!t) {
    t = [18, 12, 6, 0].map((shift) => {
      const table = new Int32Array(256).fill(-1 << 24)
      for (let i = 0; i < 64; i++) table[alphabet.charCodeAt(i)] = i << shift
      return table
    })
    decodeTables.set(alphabet, t)
  }
  return t
}

const asciiEncoder = new TextEncoder()
const asciiDecoder = new TextDecoder()
let scratch = new Uint8Array(4096)
const encodeAlphabets = new Map<string, Uint8Array>()

/** Base64 characters as ASCII bytes, then one native decode to a string (no string concatenation). */
function encode(bytes: Uint8Array, alphabet: string, pad: boolean): string {
  let codes = encodeAlphabets.get(alphabet)
  if (!codes) {
    codes = asciiEncoder.encode(alphabet)
    encodeAlphabets.set(alphabet, codes)
  }
  const c = codes
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4)
  let o = 0
  let i = 0
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!
    out[o] = c[n >> 18]!
    out[o + 1] = c[(n >> 12) & 63]!
    out[o + 2] = c[(n >> 6) & 63]!
    out[o + 3] = c[n & 63]!
    o += 4
  }
  const rest = bytes.length - i
  if (rest !== 0) {
    const n = (bytes[i]! << 16) | (rest === 2 ? bytes[i + 1]! << 8 : 0)
    out[o++] = c[n >> 18]!
    out[o++] = c[(n >> 12) & 63]!
    if (rest === 2) out[o++] = c[(n >> 6) & 63]!
    if (pad) {
      out[o++] = 0x3d
      if (rest === 1) out[o++] = 0x3d
    }
  }
  return asciiDecoder.decode(out.subarray(0, o))
}

function malformed(what: string, why: string): EncodingError {
  return new EncodingError('ERR_ENCODING_MALFORMED', `${what}: ${why}`)
}

function decode(text: string, alphabet: string, padded: boolean, what: string): Uint8Array<ArrayBuffer> {
  let len = text.length
  if (padded) {
    if (len % 4 !== 0) throw malformed(what, 'base64 length is not a multiple of 4')
    if (text.charCodeAt(len - 1) === 0x3d) len -= text.charCodeAt(len - 2) === 0x3d ? 2 : 1
  }
  const rest = len % 4
  if (rest === 1) throw malformed(what, 'base64 length is impossible')
  // ASCII bytes of the text (one native call), then four characters -> three bytes per step
  if (scratch.length < len) scratch = new Uint8Array(Math.max(len, scratch.length * 2))
  const b = scratch
  const ascii = asciiEncoder.encodeInto(text.length === len ? text : text.slice(0, len), b)
  if (ascii.read !== len || ascii.written !== len) return decodeSlow(text.slice(0, len), alphabet, what)
  const [t0, t1, t2, t3] = tables(alphabet) as [Int32Array, Int32Array, Int32Array, Int32Array]
  const out = new Uint8Array(((len - rest) / 4) * 3 + (rest === 0 ? 0 : rest - 1))
  const full = len - rest
  let o = 0
  let i = 0
  for (; i < full; i += 4) {
    const n = t0[b[i]!]! | t1[b[i + 1]!]! | t2[b[i + 2]!]! | t3[b[i + 3]!]!
    if (n < 0) return decodeSlow(text.slice(0, len), alphabet, what)
    out[o] = n >> 16
    out[o + 1] = n >> 8
    out[o + 2] = n
    o += 3
  }
  if (rest !== 0) {
    const n = t0[b[i]!]! | t1[b[i + 1]!]! | (rest === 3 ? t2[b[i + 2]!]! : 0)
    if (n < 0) return decodeSlow(text.slice(0, len), alphabet, what)
    // non-canonical trailing bits (e.g. "Zh==" instead of "Zg==") are refused: strict parsing
    if ((rest === 2 ? n & 0xffff : n & 0xff) !== 0) throw malformed(what, 'base64 has non-zero padding bits')
    out[o] = n >> 16
    if (rest === 3) out[o + 1] = n >> 8
  }
  return out
}

/** Character by character, for text the fast path refused: finds and names the first fault. */
function decodeSlow(body: string, alphabet: string, what: string): never {
  for (let i = 0; i < body.length; i++) {
    if (!alphabet.includes(body[i]!)) throw malformed(what, `invalid base64 character at position ${i}`)
  }
  throw malformed(what, 'base64 does not decode')
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
