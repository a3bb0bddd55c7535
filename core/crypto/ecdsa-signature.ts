/**
 * ECDSA signature encodings: ASN.1 DER `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`
 * (RFC 3279 §2.2.3, X.509 and tpm2-tools `-f plain`) and IEEE P1363 `r || s`, each left-padded to
 * the field size (what Web Crypto, JOSE and TPMT_SIGNATURE r/s use).
 *
 * The DER reader is strict (X.690 §10 DER, not BER): definite minimal lengths, minimal two's
 * complement INTEGERs, no negative values, no trailing bytes. Accepting BER variants would make
 * signatures malleable (one r,s with many encodings), which Wycheproof tests for.
 */
import { DerError } from '../errors.ts'

function fail(message: string, offset: number): never {
  throw new DerError('ERR_DER_MALFORMED', `ecdsa signature: ${message}`, { detail: { offset } })
}

/** Reads a DER length at `pos`; returns [length, header bytes]. Short form < 0x80, long form minimal. */
function readLength(der: Uint8Array, pos: number): [number, number] {
  if (pos >= der.length) fail('truncated length', pos)
  const first = der[pos]!
  if (first < 0x80) return [first, 1]
  if (first === 0x80) fail('indefinite length is not DER', pos)
  if (first !== 0x81) fail(`length of ${first & 0x7f} bytes is longer than any ECDSA signature`, pos)
  if (pos + 1 >= der.length) fail('truncated length', pos)
  const len = der[pos + 1]!
  if (len < 0x80) fail('long-form length for a value below 128 is not DER', pos)
  return [len, 2]
}

/** One INTEGER at `pos` as unsigned big-endian magnitude (leading sign byte removed). */
function readInteger(der: Uint8Array, pos: number, end: number, what: string): [Uint8Array, number] {
  if (pos >= end) fail(`missing ${what}`, pos)
  if (der[pos] !== 0x02) fail(`${what} tag is 0x${der[pos]!.toString(16).padStart(2, '0')}, expected INTEGER (0x02)`, pos)
  const [len, hdr] = readLength(der, pos + 1)
  const start = pos + 1 + hdr
  if (start + len > end) fail(`${what} runs past the end of the sequence`, pos)
  if (len === 0) fail(`${what} is empty`, pos)
  const v = der.subarray(start, start + len)
  if (v[0]! & 0x80) fail(`${what} is negative`, start)
  if (len > 1 && v[0] === 0 && !(v[1]! & 0x80)) fail(`${what} has a non-minimal leading zero`, start)
  return [v[0] === 0 && len > 1 ? v.subarray(1) : v, start + len]
}

/**
 * DER `SEQUENCE { r, s }` to P1363 `r || s` with each half `fieldSize` bytes (32 for P-256,
 * 48 for P-384, 66 for P-521). Throws DerError (a VerifyError) on anything that is not strict DER
 * or has an integer wider than the field.
 */
export function ecdsaDerToP1363(der: Uint8Array, fieldSize: number): Uint8Array<ArrayBuffer> {
  if (der.length === 0 || der[0] !== 0x30)
    fail(`tag is ${der.length ? '0x' + der[0]!.toString(16).padStart(2, '0') : 'missing'}, expected SEQUENCE (0x30)`, 0)
  const [len, hdr] = readLength(der, 1)
  const end = 1 + hdr + len
  if (end > der.length) fail(`sequence of ${len} bytes is truncated`, 1)
  if (end < der.length) fail(`${der.length - end} trailing bytes after the sequence`, end)
  const [r, afterR] = readInteger(der, 1 + hdr, end, 'r')
  const [s, afterS] = readInteger(der, afterR, end, 's')
  if (afterS !== end) fail(`${end - afterS} extra bytes inside the sequence`, afterS)
  const out = new Uint8Array(2 * fieldSize)
  for (const [v, at, name] of [
    [r, 0, 'r'],
    [s, fieldSize, 's'],
  ] as const) {
    if (v.length > fieldSize) fail(`${name} is ${v.length} bytes, wider than the ${fieldSize}-byte field`, 0)
    out.set(v, at + fieldSize - v.length)
  }
  return out
}

function encodeInteger(v: Uint8Array): Uint8Array {
  let i = 0
  while (i < v.length - 1 && v[i] === 0) i++
  const mag = v.subarray(i)
  const pad = mag[0]! & 0x80 ? 1 : 0
  const out = new Uint8Array(2 + pad + mag.length)
  out[0] = 0x02
  out[1] = pad + mag.length
  out.set(mag, 2 + pad)
  return out
}

/** P1363 `r || s` (even length, halves of equal size) to DER. Throws DerError on an odd or empty input. */
export function ecdsaP1363ToDer(sig: Uint8Array): Uint8Array<ArrayBuffer> {
  if (sig.length === 0 || sig.length % 2 !== 0 || sig.length > 2 * 66) {
    fail(`p1363 signature is ${sig.length} bytes, expected an even length up to 132`, 0)
  }
  const half = sig.length / 2
  const r = encodeInteger(sig.subarray(0, half))
  const s = encodeInteger(sig.subarray(half))
  const body = r.length + s.length
  const hdr = body < 0x80 ? [0x30, body] : [0x30, 0x81, body]
  const out = new Uint8Array(hdr.length + body)
  out.set(hdr, 0)
  out.set(r, hdr.length)
  out.set(s, hdr.length + r.length)
  return out
}
