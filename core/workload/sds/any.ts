/**
 * google.protobuf.Any (google/protobuf/any.proto): `type_url = 1` (string), `value = 2` (bytes, the
 * encoded message). The xDS responses carry every resource in one; vouch's SDS resources are
 * {@link SECRET_TYPE_URL}.
 */
import { ProtoReader, ProtoWriter, WireType } from '../wire.ts'

export interface AnyMessage {
  /** field 1, e.g. `type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret` */
  readonly typeUrl: string
  /** field 2: the encoded message */
  readonly value: Uint8Array
}

export function decodeAny(bytes: Uint8Array, what = 'google.protobuf.Any'): AnyMessage {
  const r = new ProtoReader(bytes, what)
  let typeUrl = ''
  let value: Uint8Array = new Uint8Array(0)
  for (const k of r.fields()) {
    if (k.field === 1 && k.wireType === WireType.lengthDelimited) typeUrl = r.string('type_url')
    else if (k.field === 2 && k.wireType === WireType.lengthDelimited) value = r.bytesField('value')
    else r.skipField(k)
  }
  return { typeUrl, value }
}

export function encodeAny(any: AnyMessage): Uint8Array {
  return new ProtoWriter().string(1, any.typeUrl).bytes(2, any.value).finish()
}
