/**
 * Envoy's SPIFFE certificate validator, which SDS can hand out inside a validation context so that
 * one secret trusts several trust domains, each only for its own SPIFFE IDs:
 *
 * - envoy.config.core.v3.TypedExtensionConfig (config/core/v3/extension.proto): `name = 1`,
 *   `typed_config = 2` (google.protobuf.Any);
 * - envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig
 *   (tls/v3/tls_spiffe_validator_config.proto): `trust_domains = 1`, repeated TrustDomain
 *   { `name = 1` (no `spiffe://` prefix), `trust_bundle = 2` (DataSource) }.
 *
 * The validator's extension name is {@link SPIFFE_VALIDATOR_NAME}. The SPIRE agent serves it under the
 * resource name `ALL`.
 */
import { ProtoReader, ProtoWriter, WireType } from '../wire.ts'
import { type AnyMessage, decodeAny, encodeAny } from './any.ts'
import { type DataSource, decodeDataSource, encodeDataSource } from './data-source.ts'

export const SPIFFE_VALIDATOR_NAME = 'envoy.tls.cert_validator.spiffe'
export const SPIFFE_VALIDATOR_TYPE_URL = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig'

export interface TypedExtensionConfig {
  readonly name: string
  readonly typedConfig?: AnyMessage
}

export interface SpiffeTrustDomain {
  /** `example.org`, without `spiffe://` */
  readonly name: string
  readonly trustBundle?: DataSource
}

export interface SpiffeCertValidatorConfig {
  readonly trustDomains: readonly SpiffeTrustDomain[]
}

export function decodeTypedExtensionConfig(bytes: Uint8Array, what = 'TypedExtensionConfig'): TypedExtensionConfig {
  const r = new ProtoReader(bytes, what)
  let name = ''
  let typedConfig: AnyMessage | undefined
  for (const k of r.fields()) {
    if (k.field === 1 && k.wireType === WireType.lengthDelimited) name = r.string('name')
    else if (k.field === 2 && k.wireType === WireType.lengthDelimited)
      typedConfig = decodeAny(r.lengthDelimited('typed_config'), `${what}.typed_config`)
    else r.skipField(k)
  }
  return typedConfig ? { name, typedConfig } : { name }
}

export function encodeTypedExtensionConfig(config: TypedExtensionConfig): Uint8Array {
  const w = new ProtoWriter().string(1, config.name)
  if (config.typedConfig) w.message(2, encodeAny(config.typedConfig))
  return w.finish()
}

function decodeTrustDomain(bytes: Uint8Array, what: string): SpiffeTrustDomain {
  const r = new ProtoReader(bytes, what)
  let name = ''
  let trustBundle: DataSource | undefined
  for (const k of r.fields()) {
    if (k.field === 1 && k.wireType === WireType.lengthDelimited) name = r.string('name')
    else if (k.field === 2 && k.wireType === WireType.lengthDelimited)
      trustBundle = decodeDataSource(r.lengthDelimited('trust_bundle'), `${what}.trust_bundle`)
    else r.skipField(k)
  }
  return trustBundle ? { name, trustBundle } : { name }
}

export function decodeSpiffeCertValidatorConfig(bytes: Uint8Array): SpiffeCertValidatorConfig {
  const what = 'SPIFFECertValidatorConfig'
  const r = new ProtoReader(bytes, what)
  const trustDomains: SpiffeTrustDomain[] = []
  for (const k of r.fields()) {
    if (k.field === 1 && k.wireType === WireType.lengthDelimited) {
      trustDomains.push(decodeTrustDomain(r.lengthDelimited('trust_domains'), `${what}.trust_domains[${trustDomains.length}]`))
    } else r.skipField(k)
  }
  return { trustDomains }
}

export function encodeSpiffeCertValidatorConfig(config: SpiffeCertValidatorConfig): Uint8Array {
  const w = new ProtoWriter()
  for (const td of config.trustDomains) {
    const t = new ProtoWriter().string(1, td.name)
    if (td.trustBundle) t.message(2, encodeDataSource(td.trustBundle))
    w.message(1, t.finish())
  }
  return w.finish()
}
