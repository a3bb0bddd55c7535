/**
 * The JWT-SVID profile messages of the SPIFFE Workload API (proto/workload.proto): JWTSVIDRequest,
 * JWTSVIDResponse, JWTSVID, JWTBundlesRequest, JWTBundlesResponse, ValidateJWTSVIDRequest,
 * ValidateJWTSVIDResponse (its claims a google.protobuf.Struct, here a JSON object).
 *
 * Same contract as ./x509-svid.ts: `decode*` check the wire and throw `ERR_WORKLOAD_MALFORMED`,
 * `encode*` omit proto3 defaults; the SPIFFE required-field rules are applied by the client
 * (runtimes/workload/updates.ts).
 */
import { decodeEmpty, readBytesMapEntry, writeBytesMap } from './fields.ts'
import { type JsonObject, decodeStruct, encodeStruct } from './struct.ts'
import { ProtoReader, ProtoWriter, WireType, concatBytes } from './wire.ts'

export interface JwtSvidRequest {
  /** field 1: required by the spec (a server answers InvalidArgument without it) */
  readonly audience: readonly string[]
  /** field 2: optional; '' asks for every identity the workload is entitled to */
  readonly spiffeId: string
}

export interface JwtSvidMessage {
  /** field 1 */
  readonly spiffeId: string
  /** field 2: the token, JWS Compact Serialization */
  readonly svid: string
  /** field 3: optional operator guidance; '' when unset */
  readonly hint: string
}

export interface JwtSvidResponse {
  /** field 1: the first is the default identity */
  readonly svids: readonly JwtSvidMessage[]
}

export type JwtBundlesRequest = Record<string, never>

export interface JwtBundlesResponse {
  /** field 1: trust domain SPIFFE ID (`spiffe://td`) → JWK Set JSON bytes */
  readonly bundles: ReadonlyMap<string, Uint8Array>
}

export interface ValidateJwtSvidRequest {
  /** field 1 */
  readonly audience: string
  /** field 2: the token to validate */
  readonly svid: string
}

export interface ValidateJwtSvidResponse {
  /** field 1 */
  readonly spiffeId: string
  /** field 2: the token's claims; undefined when the field is absent */
  readonly claims: JsonObject | undefined
}

export function decodeJwtSvidRequest(bytes: Uint8Array): JwtSvidRequest {
  const r = new ProtoReader(bytes, 'JWTSVIDRequest')
  const audience: string[] = []
  let spiffeId = ''
  for (const k of r.fields()) {
    if (k.wireType !== WireType.lengthDelimited) r.skipField(k)
    else if (k.field === 1) audience.push(r.string('audience'))
    else if (k.field === 2) spiffeId = r.string('spiffe_id')
    else r.skipField(k)
  }
  return { audience, spiffeId }
}

export function encodeJwtSvidRequest(request: JwtSvidRequest): Uint8Array {
  const w = new ProtoWriter()
  for (const a of request.audience) w.string(1, a, true)
  return w.string(2, request.spiffeId).finish()
}

export function decodeJwtSvid(bytes: Uint8Array, what = 'JWTSVID'): JwtSvidMessage {
  const r = new ProtoReader(bytes, what)
  let spiffeId = ''
  let svid = ''
  let hint = ''
  for (const k of r.fields()) {
    if (k.wireType !== WireType.lengthDelimited) r.skipField(k)
    else if (k.field === 1) spiffeId = r.string('spiffe_id')
    else if (k.field === 2) svid = r.string('svid')
    else if (k.field === 3) hint = r.string('hint')
    else r.skipField(k)
  }
  return { spiffeId, svid, hint }
}

export function encodeJwtSvid(svid: JwtSvidMessage): Uint8Array {
  return new ProtoWriter().string(1, svid.spiffeId).string(2, svid.svid).string(3, svid.hint).finish()
}

export function decodeJwtSvidResponse(bytes: Uint8Array): JwtSvidResponse {
  const r = new ProtoReader(bytes, 'JWTSVIDResponse')
  const svids: JwtSvidMessage[] = []
  for (const k of r.fields()) {
    if (k.field === 1 && k.wireType === WireType.lengthDelimited) {
      svids.push(decodeJwtSvid(r.lengthDelimited('svids'), `JWTSVIDResponse.svids[${svids.length}]`))
    } else r.skipField(k)
  }
  return { svids }
}

export function encodeJwtSvidResponse(response: JwtSvidResponse): Uint8Array {
  const w = new ProtoWriter()
  for (const svid of response.svids) w.message(1, encodeJwtSvid(svid))
  return w.finish()
}

export function decodeJwtBundlesRequest(bytes: Uint8Array): JwtBundlesRequest {
  return decodeEmpty(bytes, 'JWTBundlesRequest')
}

export function encodeJwtBundlesRequest(_request: JwtBundlesRequest = {}): Uint8Array {
  return new Uint8Array(0)
}

export function decodeJwtBundlesResponse(bytes: Uint8Array): JwtBundlesResponse {
  const r = new ProtoReader(bytes, 'JWTBundlesResponse')
  const bundles = new Map<string, Uint8Array>()
  for (const k of r.fields()) {
    if (k.field === 1 && k.wireType === WireType.lengthDelimited) readBytesMapEntry(r, 'bundles', bundles)
    else r.skipField(k)
  }
  return { bundles }
}

export function encodeJwtBundlesResponse(response: JwtBundlesResponse): Uint8Array {
  const w = new ProtoWriter()
  writeBytesMap(w, 1, response.bundles)
  return w.finish()
}

export function decodeValidateJwtSvidRequest(bytes: Uint8Array): ValidateJwtSvidRequest {
  const r = new ProtoReader(bytes, 'ValidateJWTSVIDRequest')
  let audience = ''
  let svid = ''
  for (const k of r.fields()) {
    if (k.wireType !== WireType.lengthDelimited) r.skipField(k)
    else if (k.field === 1) audience = r.string('audience')
    else if (k.field === 2) svid = r.string('svid')
    else r.skipField(k)
  }
  return { audience, svid }
}

export function encodeValidateJwtSvidRequest(request: ValidateJwtSvidRequest): Uint8Array {
  return new ProtoWriter().string(1, request.audience).string(2, request.svid).finish()
}

export function decodeValidateJwtSvidResponse(bytes: Uint8Array): ValidateJwtSvidResponse {
  const r = new ProtoReader(bytes, 'ValidateJWTSVIDResponse')
  let spiffeId = ''
  // an embedded message field seen twice is merged: its payloads are decoded as one
  const claimParts: Uint8Array[] = []
  for (const k of r.fields()) {
    if (k.wireType !== WireType.lengthDelimited) r.skipField(k)
    else if (k.field === 1) spiffeId = r.string('spiffe_id')
    else if (k.field === 2) claimParts.push(r.lengthDelimited('claims'))
    else r.skipField(k)
  }
  let claims: JsonObject | undefined
  if (claimParts.length > 0) claims = decodeStruct(concatBytes(claimParts), 'ValidateJWTSVIDResponse.claims')
  return { spiffeId, claims }
}

export function encodeValidateJwtSvidResponse(response: ValidateJwtSvidResponse): Uint8Array {
  const w = new ProtoWriter().string(1, response.spiffeId)
  if (response.claims !== undefined) w.message(2, encodeStruct(response.claims))
  return w.finish()
}
