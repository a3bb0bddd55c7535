/**
 * The state-of-the-world xDS messages SDS uses (envoy/service/discovery/v3/discovery.proto):
 *
 * - DiscoveryRequest: `version_info = 1`, `node = 2` (envoy.config.core.v3.Node), `resource_names = 3`
 *   (repeated), `type_url = 4`, `response_nonce = 5`, `error_detail = 6` (google.rpc.Status: `code = 1`
 *   int32, `message = 2`, details skipped); later fields (resource locators) are skipped.
 * - Node (envoy/config/core/v3/base.proto): `id = 1`, `cluster = 2`, `user_agent_name = 6`, and the
 *   oneof `user_agent_version = 7` (string) / `user_agent_build_version = 8` (BuildVersion `version = 1`
 *   → SemanticVersion `major_number = 1`, `minor_number = 2`, `patch = 3`); metadata, locality,
 *   extensions and client features are skipped.
 * - DiscoveryResponse: `version_info = 1`, `resources = 2` (repeated google.protobuf.Any), `canary = 3`,
 *   `type_url = 4`, `nonce = 5`; the control plane (6) is skipped.
 */
import { ProtoReader, ProtoWriter, WireType } from '../wire.ts'
import { type AnyMessage, decodeAny, encodeAny } from './any.ts'

export interface SemanticVersion {
  readonly major: number
  readonly minor: number
  readonly patch: number
}

export interface EnvoyNode {
  readonly id: string
  readonly cluster: string
  readonly userAgentName: string
  /** field 7 when the oneof holds the free-form version */
  readonly userAgentVersion?: string
  /** field 8 when the oneof holds the structured version */
  readonly userAgentBuildVersion?: SemanticVersion
}

export interface RpcStatus {
  readonly code: number
  readonly message: string
}

export interface DiscoveryRequest {
  readonly versionInfo: string
  readonly node?: EnvoyNode
  readonly resourceNames: readonly string[]
  readonly typeUrl: string
  readonly responseNonce: string
  /** set when the client NACKs the previous response */
  readonly errorDetail?: RpcStatus
}

export interface DiscoveryResponse {
  readonly versionInfo: string
  readonly resources: readonly AnyMessage[]
  readonly canary: boolean
  readonly typeUrl: string
  readonly nonce: string
}

/** A proto3 uint32 read from a varint: the low 32 bits, as protobuf runtimes keep them. */
function uint32Field(r: ProtoReader, field: string): number {
  return Number(BigInt.asUintN(32, r.varint64(field)))
}

function decodeSemanticVersion(bytes: Uint8Array, what: string): SemanticVersion {
  const r = new ProtoReader(bytes, what)
  let major = 0
  let minor = 0
  let patch = 0
  for (const k of r.fields()) {
    if (k.wireType !== WireType.varint) r.skipField(k)
    else if (k.field === 1) major = uint32Field(r, 'major_number')
    else if (k.field === 2) minor = uint32Field(r, 'minor_number')
    else if (k.field === 3) patch = uint32Field(r, 'patch')
    else r.skipField(k)
  }
  return { major, minor, patch }
}

function decodeBuildVersion(bytes: Uint8Array, what: string): SemanticVersion {
  const r = new ProtoReader(bytes, what)
  let version: SemanticVersion = { major: 0, minor: 0, patch: 0 }
  for (const k of r.fields()) {
    if (k.field === 1 && k.wireType === WireType.lengthDelimited)
      version = decodeSemanticVersion(r.lengthDelimited('version'), `${what}.version`)
    else r.skipField(k)
  }
  return version
}

export function decodeEnvoyNode(bytes: Uint8Array, what = 'Node'): EnvoyNode {
  const r = new ProtoReader(bytes, what)
  let id = ''
  let cluster = ''
  let userAgentName = ''
  let version: Pick<EnvoyNode, 'userAgentVersion' | 'userAgentBuildVersion'> = {}
  for (const k of r.fields()) {
    if (k.wireType !== WireType.lengthDelimited) r.skipField(k)
    else if (k.field === 1) id = r.string('id')
    else if (k.field === 2) cluster = r.string('cluster')
    else if (k.field === 6) userAgentName = r.string('user_agent_name')
    else if (k.field === 7) version = { userAgentVersion: r.string('user_agent_version') }
    else if (k.field === 8) {
      version = {
        userAgentBuildVersion: decodeBuildVersion(r.lengthDelimited('user_agent_build_version'), `${what}.user_agent_build_version`),
      }
    } else r.skipField(k)
  }
  return { id, cluster, userAgentName, ...version }
}

export function encodeEnvoyNode(node: EnvoyNode): Uint8Array {
  const w = new ProtoWriter().string(1, node.id).string(2, node.cluster).string(6, node.userAgentName)
  if (node.userAgentVersion !== undefined) w.string(7, node.userAgentVersion, true)
  else if (node.userAgentBuildVersion !== undefined) {
    const v = node.userAgentBuildVersion
    const semver = new ProtoWriter().varint(1, v.major).varint(2, v.minor).varint(3, v.patch).finish()
    w.message(8, new ProtoWriter().message(1, semver).finish())
  }
  return w.finish()
}

export function decodeRpcStatus(bytes: Uint8Array, what = 'google.rpc.Status'): RpcStatus {
  const r = new ProtoReader(bytes, what)
  let code = 0
  let message = ''
  for (const k of r.fields()) {
    if (k.field === 1 && k.wireType === WireType.varint) code = r.int32('code')
    else if (k.field === 2 && k.wireType === WireType.lengthDelimited) message = r.string('message')
    else r.skipField(k)
  }
  return { code, message }
}

export function encodeRpcStatus(status: RpcStatus): Uint8Array {
  return new ProtoWriter().varint(1, status.code).string(2, status.message).finish()
}

export function decodeDiscoveryRequest(bytes: Uint8Array): DiscoveryRequest {
  const what = 'DiscoveryRequest'
  const r = new ProtoReader(bytes, what)
  let versionInfo = ''
  let node: EnvoyNode | undefined
  const resourceNames: string[] = []
  let typeUrl = ''
  let responseNonce = ''
  let errorDetail: RpcStatus | undefined
  for (const k of r.fields()) {
    if (k.wireType !== WireType.lengthDelimited) r.skipField(k)
    else if (k.field === 1) versionInfo = r.string('version_info')
    else if (k.field === 2) node = decodeEnvoyNode(r.lengthDelimited('node'), `${what}.node`)
    else if (k.field === 3) resourceNames.push(r.string('resource_names'))
    else if (k.field === 4) typeUrl = r.string('type_url')
    else if (k.field === 5) responseNonce = r.string('response_nonce')
    else if (k.field === 6) errorDetail = decodeRpcStatus(r.lengthDelimited('error_detail'), `${what}.error_detail`)
    else r.skipField(k)
  }
  return { versionInfo, ...(node ? { node } : {}), resourceNames, typeUrl, responseNonce, ...(errorDetail ? { errorDetail } : {}) }
}

export function encodeDiscoveryRequest(request: DiscoveryRequest): Uint8Array {
  const w = new ProtoWriter().string(1, request.versionInfo)
  if (request.node) w.message(2, encodeEnvoyNode(request.node))
  for (const name of request.resourceNames) w.string(3, name, true)
  w.string(4, request.typeUrl).string(5, request.responseNonce)
  if (request.errorDetail) w.message(6, encodeRpcStatus(request.errorDetail))
  return w.finish()
}

export function decodeDiscoveryResponse(bytes: Uint8Array): DiscoveryResponse {
  const what = 'DiscoveryResponse'
  const r = new ProtoReader(bytes, what)
  let versionInfo = ''
  const resources: AnyMessage[] = []
  let canary = false
  let typeUrl = ''
  let nonce = ''
  for (const k of r.fields()) {
    if (k.field === 3 && k.wireType === WireType.varint) canary = r.bool('canary')
    else if (k.wireType !== WireType.lengthDelimited) r.skipField(k)
    else if (k.field === 1) versionInfo = r.string('version_info')
    else if (k.field === 2) resources.push(decodeAny(r.lengthDelimited('resources'), `${what}.resources`))
    else if (k.field === 4) typeUrl = r.string('type_url')
    else if (k.field === 5) nonce = r.string('nonce')
    else r.skipField(k)
  }
  return { versionInfo, resources, canary, typeUrl, nonce }
}

export function encodeDiscoveryResponse(response: DiscoveryResponse): Uint8Array {
  const w = new ProtoWriter().string(1, response.versionInfo)
  for (const res of response.resources) w.message(2, encodeAny(res))
  w.bool(3, response.canary).string(4, response.typeUrl).string(5, response.nonce)
  return w.finish()
}
