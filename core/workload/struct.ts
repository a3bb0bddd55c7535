/**
 * `google.protobuf.Struct` (struct.proto), the claims of a ValidateJWTSVIDResponse, to and from
 * plain JSON values:
 *
 *     message Struct    { map<string, Value> fields = 1; }
 *     message Value     { oneof kind { NullValue null_value = 1; double number_value = 2;
 *                         string string_value = 3; bool bool_value = 4; Struct struct_value = 5;
 *                         ListValue list_value = 6; } }
 *     message ListValue { repeated Value values = 1; }
 *
 * Decoding follows proto3: the last member of a oneof wins, the last entry of a map key wins, an
 * embedded message seen twice is merged. A `Value` with no member set is malformed (it has no JSON
 * form). Objects are built with own data properties only (a `__proto__` key is a key, never a
 * prototype), and nesting is bounded by {@link MAX_NESTING_DEPTH}.
 */
import { WORKLOAD_MESSAGE_DEPTH } from '../messages.ts'
import { MAX_NESTING_DEPTH, ProtoReader, ProtoWriter, WireType, concatBytes, malformed } from './wire.ts'

export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject
export interface JsonObject {
  readonly [key: string]: JsonValue
}

function setOwn(target: Record<string, JsonValue>, key: string, value: JsonValue): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}

function checkDepth(depth: number, what: string, offset: number): void {
  if (depth > MAX_NESTING_DEPTH) throw malformed(what, WORKLOAD_MESSAGE_DEPTH, offset)
}

/** Decodes a `google.protobuf.Struct` to a JSON object. */
export function decodeStruct(bytes: Uint8Array, what = 'google.protobuf.Struct', depth = 0): JsonObject {
  checkDepth(depth, what, 0)
  const r = new ProtoReader(bytes, what)
  const out: Record<string, JsonValue> = {}
  for (const k of r.fields()) {
    if (k.field === 1 && k.wireType === WireType.lengthDelimited) {
      const entry = new ProtoReader(r.lengthDelimited('fields entry'), `${what} fields entry`)
      let key = ''
      const valueParts: Uint8Array[] = []
      for (const e of entry.fields()) {
        if (e.field === 1 && e.wireType === WireType.lengthDelimited) key = entry.string('key')
        else if (e.field === 2 && e.wireType === WireType.lengthDelimited) valueParts.push(entry.lengthDelimited('value'))
        else entry.skipField(e)
      }
      // a map entry without a value holds the default Value, which has no kind: malformed
      setOwn(out, key, decodeValue(concatBytes(valueParts), `${what} field ${JSON.stringify(key.slice(0, 64))}`, depth + 1))
    } else r.skipField(k)
  }
  return out
}

/** Decodes a `google.protobuf.Value`. */
export function decodeValue(bytes: Uint8Array, what = 'google.protobuf.Value', depth = 0): JsonValue {
  checkDepth(depth, what, 0)
  const r = new ProtoReader(bytes, what)
  let value: JsonValue | undefined
  // a nested message repeated in the same oneof member is merged; another member replaces it
  let structParts: Uint8Array[] | undefined
  let listParts: Uint8Array[] | undefined
  for (const k of r.fields()) {
    const kind = k.field
    if (kind === 1 && k.wireType === WireType.varint) {
      r.int32('null_value')
      value = null
    } else if (kind === 2 && k.wireType === WireType.fixed64) value = r.double('number_value')
    else if (kind === 3 && k.wireType === WireType.lengthDelimited) value = r.string('string_value')
    else if (kind === 4 && k.wireType === WireType.varint) value = r.bool('bool_value')
    else if (kind === 5 && k.wireType === WireType.lengthDelimited) {
      const part = r.lengthDelimited('struct_value')
      if (structParts === undefined) structParts = [part]
      else structParts.push(part)
      listParts = undefined
      value = undefined
      continue
    } else if (kind === 6 && k.wireType === WireType.lengthDelimited) {
      const part = r.lengthDelimited('list_value')
      if (listParts === undefined) listParts = [part]
      else listParts.push(part)
      structParts = undefined
      value = undefined
      continue
    } else {
      r.skipField(k)
      continue
    }
    structParts = undefined
    listParts = undefined
  }
  if (structParts !== undefined) return decodeStruct(concatBytes(structParts), what, depth + 1)
  if (listParts !== undefined) return decodeListValue(concatBytes(listParts), what, depth + 1)
  if (value === undefined) throw malformed(what, 'google.protobuf.Value has no kind set', 0)
  return value
}

/** Decodes a `google.protobuf.ListValue`. */
export function decodeListValue(bytes: Uint8Array, what = 'google.protobuf.ListValue', depth = 0): JsonValue[] {
  checkDepth(depth, what, 0)
  const r = new ProtoReader(bytes, what)
  const out: JsonValue[] = []
  for (const k of r.fields()) {
    if (k.field === 1 && k.wireType === WireType.lengthDelimited) {
      out.push(decodeValue(r.lengthDelimited('values'), `${what}[${out.length}]`, depth + 1))
    } else r.skipField(k)
  }
  return out
}

/** Encodes a JSON object as a `google.protobuf.Struct` (keys in insertion order). */
export function encodeStruct(value: JsonObject, depth = 0): Uint8Array {
  if (depth > MAX_NESTING_DEPTH) throw new RangeError(`google.protobuf.Struct: ${WORKLOAD_MESSAGE_DEPTH}`)
  const w = new ProtoWriter()
  for (const key of Object.keys(value)) {
    const entry = new ProtoWriter()
      .string(1, key, true)
      .message(2, encodeValue(value[key]!, depth + 1))
      .finish()
    w.message(1, entry)
  }
  return w.finish()
}

/** Encodes a JSON value as a `google.protobuf.Value`. */
export function encodeValue(value: JsonValue, depth = 0): Uint8Array {
  if (depth > MAX_NESTING_DEPTH) throw new RangeError(`google.protobuf.Value: ${WORKLOAD_MESSAGE_DEPTH}`)
  const w = new ProtoWriter()
  if (value === null) w.varint(1, 0, true)
  else if (typeof value === 'number') w.double(2, value, true)
  else if (typeof value === 'string') w.string(3, value, true)
  else if (typeof value === 'boolean') w.bool(4, value, true)
  else if (Array.isArray(value)) {
    const list = new ProtoWriter()
    for (const item of value as readonly JsonValue[]) list.message(1, encodeValue(item, depth + 1))
    w.message(6, list.finish())
  } else if (typeof value === 'object') w.message(5, encodeStruct(value as JsonObject, depth + 1))
  else throw new TypeError(`google.protobuf.Value: cannot encode a ${typeof value}`)
  return w.finish()
}
