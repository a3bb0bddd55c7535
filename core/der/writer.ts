/** Minimal DER encoding (X.690 §10): definite minimal lengths. For small structures vouch emits. */
import { concatBytes } from '../bytes/equal.ts'
import { encodeOid } from './oid.ts'
import { TAG } from './reader.ts'

export function encodeLength(n: number): Uint8Array {
  if (n < 0x80) return Uint8Array.of(n)
  const out: number[] = []
  while (n > 0) {
    out.unshift(n & 0xff)
    n = Math.floor(n / 256)
  }
  return Uint8Array.of(0x80 | out.length, ...out)
}

export function encodeTlv(tag: number, value: Uint8Array): Uint8Array<ArrayBuffer> {
  return concatBytes(Uint8Array.of(tag), encodeLength(value.length), value)
}

export function encodeSequence(...children: Uint8Array[]): Uint8Array<ArrayBuffer> {
  return encodeTlv(TAG.SEQUENCE, concatBytes(...children))
}

/** A non-negative INTEGER from big-endian magnitude bytes (leading zeros trimmed, sign octet added). */
export function encodeUnsignedInteger(magnitude: Uint8Array): Uint8Array<ArrayBuffer> {
  let i = 0
  while (i < magnitude.length - 1 && magnitude[i] === 0) i++
  const m = magnitude.subarray(i)
  const body = m.length === 0 ? Uint8Array.of(0) : m[0]! & 0x80 ? concatBytes(Uint8Array.of(0), m) : m
  return encodeTlv(TAG.INTEGER, body)
}

export function encodeOidTlv(dotted: string): Uint8Array<ArrayBuffer> {
  return encodeTlv(TAG.OID, encodeOid(dotted))
}

export function encodeBitString(bytes: Uint8Array, unusedBits = 0): Uint8Array<ArrayBuffer> {
  return encodeTlv(TAG.BIT_STRING, concatBytes(Uint8Array.of(unusedBits), bytes))
}

export const DER_NULL = Uint8Array.of(0x05, 0x00)
