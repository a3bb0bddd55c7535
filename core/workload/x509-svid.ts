/**
 * The X.509-SVID profile messages of the SPIFFE Workload API (proto/workload.proto):
 * X509SVIDRequest, X509SVIDResponse, X509SVID, X509BundlesRequest, X509BundlesResponse.
 *
 * `decode*` take the bytes of one message (the payload of a gRPC frame) and return it, or throw
 * `ERR_WORKLOAD_MALFORMED`; they check the wire only. Whether required fields are set and the
 * SVIDs verify (the SPIFFE rules a client applies before using a response) is the client's job
 * (runtimes/workload/updates.ts). `encode*` write what protoc-generated encoders write (defaults omitted, fields in
 * number order). Bytes fields are copies, never views into the input.
 */
import { decodeEmpty, readBytesMapEntry, writeBytesMap } from './fields.ts'
import { ProtoReader, ProtoWriter, WireType } from './wire.ts'

/** X509SVIDRequest and X509BundlesRequest: no fields today. */
export type X509SvidRequest = Record<string, never>
export type X509BundlesRequest = Record<string, never>

/** One X.509-SVID with its key and its trust domain's bundle (message X509SVID). */
export interface X509SvidMessage {
  /** field 1 */
  readonly spiffeId: string
  /** field 2: ASN.1 DER certificates concatenated, leaf first */
  readonly x509Svid: Uint8Array
  /** field 3: unencrypted PKCS#8 DER */
  readonly x509SvidKey: Uint8Array
  /** field 4: ASN.1 DER certificates concatenated (the trust domain's X.509 authorities) */
  readonly bundle: Uint8Array
  /** field 5: optional operator guidance such as `internal` / `external`; '' when unset */
  readonly hint: string
}

export interface X509SvidResponse {
  /** field 1: the first is the default identity */
  readonly svids: readonly X509SvidMessage[]
  /** field 2: DER CRLs */
  readonly crl: readonly Uint8Array[]
  /** field 3: foreign trust domain SPIFFE ID (`spiffe://td`) → DER certificates concatenated */
  readonly federatedBundles: ReadonlyMap<string, Uint8Array>
}

export interface X509BundlesResponse {
  /** field 1: DER CRLs */
  readonly crl: readonly Uint8Array[]
  /** field 2: trust domain SPIFFE ID (`spiffe://td`) → DER certificates concatenated */
  readonly bundles: ReadonlyMap<string, Uint8Array>
}

export function decodeX509SvidRequest(bytes: Uint8Array): X509SvidRequest {
  return decodeEmpty(bytes, 'X509SVIDRequest')
}

export function encodeX509SvidRequest(_request: X509SvidRequest = {}): Uint8Array {
  return new Uint8Array(0)
}

export function decodeX509BundlesRequest(bytes: Uint8Array): X509BundlesRequest {
  return decodeEmpty(bytes, 'X509BundlesRequest')
}

export function encodeX509BundlesRequest(_request: X509BundlesRequest = {}): Uint8Array {
  return new Uint8Array(0)
}

export function decodeX509Svid(bytes: Uint8Array, what = 'X509SVID'): X509SvidMessage {
  const r = new ProtoReader(bytes, what)
  let spiffeId = ''
  let x509Svid: Uint8Array = new Uint8Array(0)
  let x509SvidKey: Uint8Array = new Uint8Array(0)
  let bundle: Uint8Array = new Uint8Array(0)
  let hint = ''
  for (const k of r.fields()) {
    if (k.wireType !== WireType.lengthDelimited) r.skipField(k)
    else if (k.field === 1) spiffeId = r.string('spiffe_id')
    else if (k.field === 2) x509Svid = r.bytesField('x509_svid')
    else if (k.field === 3) x509SvidKey = r.bytesField('x509_svid_key')
    else if (k.field === 4) bundle = r.bytesField('bundle')
    else if (k.field === 5) hint = r.string('hint')
    else r.skipField(k)
  }
  return { spiffeId, x509Svid, x509SvidKey, bundle, hint }
}

export function encodeX509Svid(svid: X509SvidMessage): Uint8Array {
  return new ProtoWriter()
    .string(1, svid.spiffeId)
    .bytes(2, svid.x509Svid)
    .bytes(3, svid.x509SvidKey)
    .bytes(4, svid.bundle)
    .string(5, svid.hint)
    .finish()
}

export function decodeX509SvidResponse(bytes: Uint8Array): X509SvidResponse {
  const r = new ProtoReader(bytes, 'X509SVIDResponse')
  const svids: X509SvidMessage[] = []
  const crl: Uint8Array[] = []
  const federatedBundles = new Map<string, Uint8Array>()
  for (const k of r.fields()) {
    if (k.wireType !== WireType.lengthDelimited) r.skipField(k)
    else if (k.field === 1) svids.push(decodeX509Svid(r.lengthDelimited('svids'), `X509SVIDResponse.svids[${svids.length}]`))
    else if (k.field === 2) crl.push(r.bytesField('crl'))
    else if (k.field === 3) readBytesMapEntry(r, 'federated_bundles', federatedBundles)
    else r.skipField(k)
  }
  return { svids, crl, federatedBundles }
}

export function encodeX509SvidResponse(response: X509SvidResponse): Uint8Array {
  const w = new ProtoWriter()
  for (const svid of response.svids) w.message(1, encodeX509Svid(svid))
  for (const c of response.crl) w.bytes(2, c, true)
  writeBytesMap(w, 3, response.federatedBundles)
  return w.finish()
}

export function decodeX509BundlesResponse(bytes: Uint8Array): X509BundlesResponse {
  const r = new ProtoReader(bytes, 'X509BundlesResponse')
  const crl: Uint8Array[] = []
  const bundles = new Map<string, Uint8Array>()
  for (const k of r.fields()) {
    if (k.wireType !== WireType.lengthDelimited) r.skipField(k)
    else if (k.field === 1) crl.push(r.bytesField('crl'))
    else if (k.field === 2) readBytesMapEntry(r, 'bundles', bundles)
    else r.skipField(k)
  }
  return { crl, bundles }
}

export function encodeX509BundlesResponse(response: X509BundlesResponse): Uint8Array {
  const w = new ProtoWriter()
  for (const c of response.crl) w.bytes(1, c, true)
  writeBytesMap(w, 2, response.bundles)
  return w.finish()
}
