import { Buffer } from 'node:buffer'

/**
 * Platform.decodeBase64 on Buffer (Node and Bun): native decoding, then a native re-encode that
 * must give back the same text, so exactly the canonical padded encodings are accepted (Buffer
 * alone skips whitespace, accepts base64url and missing padding). Small results are views into
 * Buffer's allocation pool (no ArrayBuffer of their own, which costs ~1 µs each on Node 20); core
 * always honours byteOffset and never reads outside a view. They come back as plain Uint8Arrays:
 * a Buffer's `slice` would alias where core expects a copy.
 */
export function decodeBase64Canonical(text: string): Uint8Array | undefined {
  const out = Buffer.from(text, 'base64')
  if (out.toString('base64') !== text) return undefined
  return new Uint8Array(out.buffer, out.byteOffset, out.length)
}
