/**
 * vouch's codec against Google's protobuf runtime: test/vectors/python-protobuf holds messages that
 * python3-protobuf serialised from proto/workload.proto, with their proto3 JSON view. Each decodes to
 * the same values, and vouch re-encodes it to the same bytes (deterministic serialisation writes
 * map entries sorted, which is the order the decoder keeps).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import * as w from '../../../core/workload/index.ts'
import { fromHex, hex } from './fuzz.ts'

interface Vector {
  readonly message: string
  readonly hex: string
  readonly json: Record<string, unknown>
}
const file = JSON.parse(readFileSync(join(import.meta.dirname, '../../vectors/python-protobuf/workload-messages.json'), 'utf8')) as {
  vectors: Vector[]
}

const codecs: Record<string, [(b: Uint8Array) => unknown, (m: never) => Uint8Array]> = {
  X509SVIDRequest: [w.decodeX509SvidRequest, w.encodeX509SvidRequest],
  X509SVIDResponse: [w.decodeX509SvidResponse, w.encodeX509SvidResponse],
  X509BundlesRequest: [w.decodeX509BundlesRequest, w.encodeX509BundlesRequest],
  X509BundlesResponse: [w.decodeX509BundlesResponse, w.encodeX509BundlesResponse],
  JWTSVIDRequest: [w.decodeJwtSvidRequest, w.encodeJwtSvidRequest],
  JWTSVIDResponse: [w.decodeJwtSvidResponse, w.encodeJwtSvidResponse],
  JWTBundlesRequest: [w.decodeJwtBundlesRequest, w.encodeJwtBundlesRequest],
  JWTBundlesResponse: [w.decodeJwtBundlesResponse, w.encodeJwtBundlesResponse],
  ValidateJWTSVIDRequest: [w.decodeValidateJwtSvidRequest, w.encodeValidateJwtSvidRequest],
  ValidateJWTSVIDResponse: [w.decodeValidateJwtSvidResponse, w.encodeValidateJwtSvidResponse],
}

const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`).replace(/^x509_svid/, 'x509_svid')
const FIELD_NAMES: Record<string, string> = { x509Svid: 'x509_svid', x509SvidKey: 'x509_svid_key' }

/** vouch's decoded value in proto3 JSON form: defaults omitted, bytes base64, maps as objects. */
function protoJson(value: unknown): unknown {
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64')
  if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [k, protoJson(v)]))
  if (Array.isArray(value)) return value.map(protoJson)
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) {
      if (v === '' || v === undefined || (Array.isArray(v) && v.length === 0) || (v instanceof Map && v.size === 0)) continue
      if (v instanceof Uint8Array && v.length === 0) continue
      Object.defineProperty(out, FIELD_NAMES[k] ?? snake(k), { value: k === 'claims' ? v : protoJson(v), enumerable: true })
    }
    return out
  }
  return value
}

describe('interop with python3-protobuf', () => {
  it('holds a vector for every message of workload.proto', () => {
    expect(new Set(file.vectors.map((v) => v.message))).toEqual(new Set(Object.keys(codecs)))
  })

  for (const [i, v] of file.vectors.entries()) {
    it(`${v.message} #${i}: decodes to python's values and re-encodes to its bytes`, () => {
      const [decode, encode] = codecs[v.message]!
      const decoded = decode(fromHex(v.hex))
      expect(protoJson(decoded)).toEqual(v.json)
      expect(hex(encode(decoded as never))).toBe(v.hex)
    })
  }
})
