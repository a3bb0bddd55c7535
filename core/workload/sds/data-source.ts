/**
 * envoy.config.core.v3.DataSource (envoy/config/core/v3/base.proto): a oneof `specifier` of
 * `filename = 1` (string), `inline_bytes = 2` (bytes), `inline_string = 3` (string); newer members
 * are skipped as unknown fields. SDS from the agent only sends `inline_bytes` (PEM); a decoder keeps
 * whichever member came last, as protobuf oneofs do.
 */
import { ProtoReader, ProtoWriter, WireType } from '../wire.ts'

export type DataSource =
  | { readonly filename: string }
  | { readonly inlineBytes: Uint8Array }
  | { readonly inlineString: string }
  | Record<string, never>

export function decodeDataSource(bytes: Uint8Array, what = 'DataSource'): DataSource {
  const r = new ProtoReader(bytes, what)
  let out: DataSource = {}
  for (const k of r.fields()) {
    if (k.wireType !== WireType.lengthDelimited) {
      r.skipField(k)
      continue
    }
    switch (k.field) {
      case 1:
        out = { filename: r.string('filename') }
        break
      case 2:
        out = { inlineBytes: r.bytesField('inline_bytes') }
        break
      case 3:
        out = { inlineString: r.string('inline_string') }
        break
      default:
        r.skipField(k)
    }
  }
  return out
}

/** A oneof member is written even when empty (it has presence). */
export function encodeDataSource(source: DataSource): Uint8Array {
  const w = new ProtoWriter()
  if ('filename' in source) w.string(1, source.filename, true)
  else if ('inlineBytes' in source) w.bytes(2, source.inlineBytes, true)
  else if ('inlineString' in source) w.string(3, source.inlineString, true)
  return w.finish()
}
