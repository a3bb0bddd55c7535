/** Minimal DER encoding (X.690 §10): definite minimal lengths. For small structures vouch emits. */
import { encodeOid } from './oid.ts'
import { TAG } from './reader.ts'

export function encodeLength(n: number): Uint8Array {
  const out = new Uint8Array(lengthOfLength(n))
  writeLength(out, 0, n)
  return out
}

/** Bytes the definite length `n` takes. */
function lengthOfLength(n: number): number {
  if (n < 0x80) return 1
  let k = 1
  for (let v = n; v > 0; v = Math.floor(v / 256)) k++
  return k
}

/** Writes the definite length `n` at `at`; returns the offset after it. */
function writeLength(out: Uint8Array, at: number, n: number): number {
  if (n < 0x80) {
    out[at] = n
    return at + 1
  }
  const k = lengthOfLength(n) - 1
  out[at] = 0x80 | k
  for (let i = k, v = n; i >= 1; i--, v = Math.floor(v / 256)) out[at + i] = v & 0xff
  return at + 1 + k
}

/** tag || length || parts..., in one allocation. */
function tlvOf(tag: number, parts: readonly Uint8Array[], prefix?: number): Uint8Array<ArrayBuffer> {
  let n = prefix === undefined ? 0 : 1
  for (const p of parts) n += p.length
  const out = new Uint8Array(1 + lengthOfLength(n) + n)
  out[0] = tag
  let o = writeLength(out, 1, n)
  if (prefix !== undefined) out[o++] = prefix
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

export function encodeTlv(tag: number, value: Uint8Array): Uint8Array<ArrayBuffer> {
  return tlvOf(tag, [value])
}

export function encodeSequence(...children: Uint8Array[]): Uint8Array<ArrayBuffer> {
  return tlvOf(TAG.SEQUENCE, children)
}

/** A non-negative INTEGER from big-endian magnitude bytes (leading zeros trimmed, sign octet added). */
export function encodeUnsignedInteger(magnitude: Uint8Array): Uint8Array<ArrayBuffer> {
  let i = 0
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++
  const m = magnitude.subarray(i)
  if (m.length === 0) return Uint8Array.of(TAG.INTEGER, 1, 0)
  return m[0]! & 0x80 ? tlvOf(TAG.INTEGER, [m], 0) : tlvOf(TAG.INTEGER, [m])
}

export function encodeOidTlv(dotted: string): Uint8Array<ArrayBuffer> {
  return encodeTlv(TAG.OID, encodeOid(dotted))
}

export function encodeBitString(bytes: Uint8Array, unusedBits = 0): Uint8Array<ArrayBuffer> {
  return tlvOf(TAG.BIT_STRING, [bytes], unusedBits)
}

export const DER_NULL = Uint8Array.of(0x05, 0x00)
