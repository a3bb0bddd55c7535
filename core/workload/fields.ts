/**
 * Field shapes the Workload API messages share: `map<string, bytes>` (bundles keyed by trust domain
 * SPIFFE ID) and the empty request messages.
 */
import { ProtoReader, ProtoWriter, WireType } from './wire.ts'

/**
 * Reads one `map<string, bytes>` entry (key = 1, value = 2) into `into`; a missing key or value is
 * the proto3 default (empty), a repeated key keeps the last value.
 */
export function readBytesMapEntry(r: ProtoReader, field: string, into: Map<string, Uint8Array>): void {
  const entry = new ProtoReader(r.lengthDelimited(field), `${r.what} ${field} entry`)
  let key = ''
  let value: Uint8Array = new Uint8Array(0)
  for (const k of entry.fields()) {
    if (k.field === 1 && k.wireType === WireType.lengthDelimited) key = entry.string('key')
    else if (k.field === 2 && k.wireType === WireType.lengthDelimited) value = entry.bytesField('value')
    else entry.skipField(k)
  }
  into.set(key, value)
}

/**
 * Writes a `map<string, bytes>` field, one entry per key, in the map's order. Entries always carry
 * both key and value, even empty ones, as the C++, Go and Python runtimes write them.
 */
export function writeBytesMap(w: ProtoWriter, field: number, map: ReadonlyMap<string, Uint8Array>): void {
  for (const [key, value] of map) w.message(field, new ProtoWriter().string(1, key, true).bytes(2, value, true).finish())
}

/** Decodes a message with no fields (its unknown fields are skipped, the wire is still checked). */
export function decodeEmpty(bytes: Uint8Array, what: string): Record<string, never> {
  const r = new ProtoReader(bytes, what)
  for (const k of r.fields()) r.skipField(k)
  return {}
}
