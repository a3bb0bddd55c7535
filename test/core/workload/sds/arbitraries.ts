/** fast-check arbitraries for the SDS messages (valid values of each message type). */
import fc from 'fast-check'
import type { AnyMessage } from '../../../../core/workload/sds/any.ts'
import type { DataSource } from '../../../../core/workload/sds/data-source.ts'
import type { DiscoveryRequest, DiscoveryResponse, EnvoyNode, RpcStatus } from '../../../../core/workload/sds/discovery.ts'
import type { CertificateValidationContext, Secret, TlsCertificate } from '../../../../core/workload/sds/secret.ts'
import type { SpiffeCertValidatorConfig, TypedExtensionConfig } from '../../../../core/workload/sds/spiffe-validator.ts'

const text = fc.string({ unit: 'grapheme', maxLength: 24 })
const bytes = fc.uint8Array({ maxLength: 48 })
const u32 = fc.integer({ min: 0, max: 0xffffffff })

export const anyMessage: fc.Arbitrary<AnyMessage> = fc.record({ typeUrl: text, value: bytes })

export const dataSource: fc.Arbitrary<DataSource> = fc.oneof(
  fc.record({ filename: text }),
  fc.record({ inlineBytes: bytes }),
  fc.record({ inlineString: text }),
  fc.constant({} as DataSource),
)

export const tlsCertificate: fc.Arbitrary<TlsCertificate> = fc.record(
  { certificateChain: dataSource, privateKey: dataSource },
  { requiredKeys: [] },
)
export const typedExtensionConfig: fc.Arbitrary<TypedExtensionConfig> = fc.record(
  { name: text, typedConfig: anyMessage },
  { requiredKeys: ['name'] },
)
export const spiffeValidatorConfig: fc.Arbitrary<SpiffeCertValidatorConfig> = fc.record({
  trustDomains: fc.array(fc.record({ name: text, trustBundle: dataSource }, { requiredKeys: ['name'] }), { maxLength: 3 }),
})
export const validationContext: fc.Arbitrary<CertificateValidationContext> = fc.record(
  { trustedCa: dataSource, customValidatorConfig: typedExtensionConfig },
  { requiredKeys: [] },
)

export const secret: fc.Arbitrary<Secret> = fc.oneof(
  fc.record({ name: text }),
  fc.record({ name: text, tlsCertificate }),
  fc.record({ name: text, validationContext }),
)

export const node: fc.Arbitrary<EnvoyNode> = fc.oneof(
  fc.record({ id: text, cluster: text, userAgentName: text }),
  fc.record({ id: text, cluster: text, userAgentName: text, userAgentVersion: text }),
  fc.record({
    id: text,
    cluster: text,
    userAgentName: text,
    userAgentBuildVersion: fc.record({ major: u32, minor: u32, patch: u32 }),
  }),
)

export const rpcStatus: fc.Arbitrary<RpcStatus> = fc.record({ code: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }), message: text })

export const discoveryRequest: fc.Arbitrary<DiscoveryRequest> = fc.record(
  {
    versionInfo: text,
    node,
    resourceNames: fc.array(text, { maxLength: 4 }),
    typeUrl: text,
    responseNonce: text,
    errorDetail: rpcStatus,
  },
  { requiredKeys: ['versionInfo', 'resourceNames', 'typeUrl', 'responseNonce'] },
)

export const discoveryResponse: fc.Arbitrary<DiscoveryResponse> = fc.record({
  versionInfo: text,
  resources: fc.array(anyMessage, { maxLength: 3 }),
  canary: fc.boolean(),
  typeUrl: text,
  nonce: text,
})
