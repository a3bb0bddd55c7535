import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeDiscoveryRequest,
  decodeDiscoveryResponse,
  decodeEnvoyNode,
  decodeRpcStatus,
  encodeDiscoveryRequest,
  encodeDiscoveryResponse,
  encodeEnvoyNode,
  encodeRpcStatus,
} from '../../../../core/workload/sds/discovery.ts'
import { ProtoWriter } from '../../../../core/workload/wire.ts'
import { RUNS, decodesOrFailsStably, fromHex, hex, mutations } from '../fuzz.ts'
import { discoveryRequest, discoveryResponse, node, rpcStatus } from './arbitraries.ts'

const te = new TextEncoder()

describe('DiscoveryRequest / DiscoveryResponse (xDS v3)', () => {
  it('a request: version_info 1, node 2, resource_names 3, type_url 4, response_nonce 5, error_detail 6', () => {
    const bytes = encodeDiscoveryRequest({
      versionInfo: '1',
      node: { id: 'n', cluster: '', userAgentName: 'envoy' },
      resourceNames: ['a', ''],
      typeUrl: 't',
      responseNonce: 'x',
      errorDetail: { code: 3, message: 'm' },
    })
    expect(hex(bytes)).toBe(
      ['0a0131', `120a 0a016e 3205${hex(te.encode('envoy'))}`, '1a0161', '1a00', '220174', '2a0178', '3205 0803 12016d']
        .join('')
        .replace(/ /g, ''),
    )
    expect(decodeDiscoveryRequest(bytes).resourceNames).toEqual(['a', ''])
  })

  it('Node: the user agent version is a oneof of a string (7) and a BuildVersion (8)', () => {
    const built = encodeEnvoyNode({ id: '', cluster: '', userAgentName: '', userAgentBuildVersion: { major: 1, minor: 28, patch: 0 } })
    expect(hex(built)).toBe('4206 0a04 0801101c'.replace(/ /g, ''))
    expect(decodeEnvoyNode(built)).toEqual({
      id: '',
      cluster: '',
      userAgentName: '',
      userAgentBuildVersion: { major: 1, minor: 28, patch: 0 },
    })
    const both = new ProtoWriter().message(8, fromHex('0a020801')).string(7, '1.2.3').finish()
    expect(decodeEnvoyNode(both)).toEqual({ id: '', cluster: '', userAgentName: '', userAgentVersion: '1.2.3' })
  })

  it('Node: metadata, locality, extensions and client features are skipped', () => {
    const bytes = new ProtoWriter().string(1, 'id').message(3, fromHex('0a00')).message(4, fromHex('0a0172')).string(10, 'f').finish()
    expect(decodeEnvoyNode(bytes)).toEqual({ id: 'id', cluster: '', userAgentName: '' })
  })

  it("google.rpc.Status: code is int32 (a negative varint is its two's complement), details skipped", () => {
    expect(decodeRpcStatus(fromHex('08ffffffffffffffffff01120178'))).toEqual({ code: -1, message: 'x' })
    expect(decodeRpcStatus(new ProtoWriter().varint(1, 7).message(3, fromHex('0a00')).finish())).toEqual({ code: 7, message: '' })
  })

  it('a response: version_info 1, resources 2 (Any), canary 3, type_url 4, nonce 5; control_plane skipped', () => {
    const bytes = encodeDiscoveryResponse({
      versionInfo: '2',
      resources: [{ typeUrl: 'u', value: fromHex('00') }],
      canary: false,
      typeUrl: 'u',
      nonce: 'ab',
    })
    expect(hex(bytes)).toBe('0a0132 1206 0a0175 120100 220175 2a026162'.replace(/ /g, ''))
    const withCp = new Uint8Array([...bytes, ...new ProtoWriter().message(6, fromHex('0a0169')).bool(3, true).finish()])
    expect(decodeDiscoveryResponse(withCp)).toMatchObject({ versionInfo: '2', canary: true, nonce: 'ab' })
  })

  it('a node that does not decode is named in the error', () => {
    const bad = new ProtoWriter().message(2, fromHex('0a05')).finish()
    expect(() => decodeDiscoveryRequest(bad)).toThrow(/^DiscoveryRequest.node: /)
  })

  it('property: round trips', () => {
    fc.assert(
      fc.property(discoveryRequest, (m) => {
        expect(decodeDiscoveryRequest(encodeDiscoveryRequest(m))).toEqual(m)
      }),
      { numRuns: 1000 },
    )
    fc.assert(
      fc.property(discoveryResponse, (m) => {
        expect(decodeDiscoveryResponse(encodeDiscoveryResponse(m))).toEqual(m)
      }),
      { numRuns: 1000 },
    )
    fc.assert(
      fc.property(node, (m) => {
        expect(decodeEnvoyNode(encodeEnvoyNode(m))).toEqual(m)
      }),
      { numRuns: 500 },
    )
    fc.assert(
      fc.property(rpcStatus, (m) => {
        expect(decodeRpcStatus(encodeRpcStatus(m))).toEqual(m)
      }),
      { numRuns: 500 },
    )
  })

  it('property: any bytes decode or fail with ERR_WORKLOAD_MALFORMED (each decoder)', () => {
    fc.assert(
      fc.property(mutations(discoveryRequest.map(encodeDiscoveryRequest)), (b) => decodesOrFailsStably(() => decodeDiscoveryRequest(b))),
      { numRuns: RUNS },
    )
    fc.assert(
      fc.property(mutations(discoveryResponse.map(encodeDiscoveryResponse)), (b) => decodesOrFailsStably(() => decodeDiscoveryResponse(b))),
      { numRuns: RUNS },
    )
    fc.assert(
      fc.property(mutations(node.map(encodeEnvoyNode)), (b) => decodesOrFailsStably(() => decodeEnvoyNode(b))),
      { numRuns: RUNS },
    )
    fc.assert(
      fc.property(mutations(rpcStatus.map(encodeRpcStatus)), (b) => decodesOrFailsStably(() => decodeRpcStatus(b))),
      { numRuns: RUNS },
    )
  })
})
