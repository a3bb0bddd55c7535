/**
 * The SDS resource: envoy.extensions.transport_sockets.tls.v3.Secret (tls/v3/secret.proto) and the
 * two secret types the SPIRE agent serves (tls/v3/common.proto):
 *
 * - Secret: `name = 1`, oneof type { `tls_certificate = 2`, `session_ticket_keys = 3`,
 *   `validation_context = 4`, `generic_secret = 5` }. vouch models the certificate and the validation
 *   context; a later member of the oneof replaces an earlier one, the two others are kept as
 *   `otherType` (their content skipped).
 * - TlsCertificate: `certificate_chain = 1`, `private_key = 2` (DataSource each); its other fields
 *   (password, OCSP staple, key provider, watched directory...) are skipped.
 * - CertificateValidationContext: `trusted_ca = 1` (DataSource) and `custom_validator_config = 12`
 *   (TypedExtensionConfig, ./spiffe-validator.ts); the others (SAN matchers, SPKI and hash pins,
 *   CRLs...) are skipped.
 *
 * A message field that appears twice keeps the last occurrence (protobuf would merge the two; no
 * encoder vouch talks to repeats them).
 */
import { ProtoReader, ProtoWriter, WireType } from '../wire.ts'
import { type DataSource, decodeDataSource, encodeDataSource } from './data-source.ts'
import { decodeTypedExtensionConfig, encodeTypedExtensionConfig, type TypedExtensionConfig } from './spiffe-validator.ts'

export interface TlsCertificate {
  /** field 1: the certificate chain, PEM, leaf first */
  readonly certificateChain?: DataSource
  /** field 2: the private key, PEM (PKCS#8) */
  readonly privateKey?: DataSource
}

export interface CertificateValidationContext {
  /** field 1: the CA certificates that verify a peer, PEM */
  readonly trustedCa?: DataSource
  /** field 12: a certificate validator extension (the SPIFFE validator) */
  readonly customValidatorConfig?: TypedExtensionConfig
}

export interface Secret {
  /** field 1: what an SdsSecretConfig names */
  readonly name: string
  /** field 2 */
  readonly tlsCertificate?: TlsCertificate
  /** field 4 */
  readonly validationContext?: CertificateValidationContext
  /** set when the oneof holds session_ticket_keys (3) or generic_secret (5) */
  readonly otherType?: 'session_ticket_keys' | 'generic_secret'
}

export function decodeTlsCertificate(bytes: Uint8Array, what = 'TlsCertificate'): TlsCertificate {
  const r = new ProtoReader(bytes, what)
  let certificateChain: DataSource | undefined
  let privateKey: DataSource | undefined
  for (const k of r.fields()) {
    if (k.field === 1 && k.wireType === WireType.lengthDelimited) {
      certificateChain = decodeDataSource(r.lengthDelimited('certificate_chain'), `${what}.certificate_chain`)
    } else if (k.field === 2 && k.wireType === WireType.lengthDelimited) {
      privateKey = decodeDataSource(r.lengthDelimited('private_key'), `${what}.private_key`)
    } else r.skipField(k)
  }
  return { ...(certificateChain ? { certificateChain } : {}), ...(privateKey ? { privateKey } : {}) }
}

export function encodeTlsCertificate(cert: TlsCertificate): Uint8Array {
  const w = new ProtoWriter()
  if (cert.certificateChain) w.message(1, encodeDataSource(cert.certificateChain))
  if (cert.privateKey) w.message(2, encodeDataSource(cert.privateKey))
  return w.finish()
}

export function decodeCertificateValidationContext(bytes: Uint8Array, what = 'CertificateValidationContext'): CertificateValidationContext {
  const r = new ProtoReader(bytes, what)
  let trustedCa: DataSource | undefined
  let customValidatorConfig: TypedExtensionConfig | undefined
  for (const k of r.fields()) {
    if (k.field === 1 && k.wireType === WireType.lengthDelimited) {
      trustedCa = decodeDataSource(r.lengthDelimited('trusted_ca'), `${what}.trusted_ca`)
    } else if (k.field === 12 && k.wireType === WireType.lengthDelimited) {
      customValidatorConfig = decodeTypedExtensionConfig(r.lengthDelimited('custom_validator_config'), `${what}.custom_validator_config`)
    } else r.skipField(k)
  }
  return { ...(trustedCa ? { trustedCa } : {}), ...(customValidatorConfig ? { customValidatorConfig } : {}) }
}

export function encodeCertificateValidationContext(context: CertificateValidationContext): Uint8Array {
  const w = new ProtoWriter()
  if (context.trustedCa) w.message(1, encodeDataSource(context.trustedCa))
  if (context.customValidatorConfig) w.message(12, encodeTypedExtensionConfig(context.customValidatorConfig))
  return w.finish()
}

export function decodeSecret(bytes: Uint8Array, what = 'Secret'): Secret {
  const r = new ProtoReader(bytes, what)
  let name = ''
  let type: Pick<Secret, 'tlsCertificate' | 'validationContext' | 'otherType'> = {}
  for (const k of r.fields()) {
    if (k.wireType !== WireType.lengthDelimited) {
      r.skipField(k)
      continue
    }
    switch (k.field) {
      case 1:
        name = r.string('name')
        break
      case 2:
        type = { tlsCertificate: decodeTlsCertificate(r.lengthDelimited('tls_certificate'), `${what}.tls_certificate`) }
        break
      case 3:
        r.skipField(k)
        type = { otherType: 'session_ticket_keys' }
        break
      case 4:
        type = {
          validationContext: decodeCertificateValidationContext(r.lengthDelimited('validation_context'), `${what}.validation_context`),
        }
        break
      case 5:
        r.skipField(k)
        type = { otherType: 'generic_secret' }
        break
      default:
        r.skipField(k)
    }
  }
  return { name, ...type }
}

/** Writes the name and the certificate or the validation context (one of them; `otherType` is not encodable). */
export function encodeSecret(secret: Secret): Uint8Array {
  if (secret.tlsCertificate && secret.validationContext) {
    throw new TypeError('Secret: tlsCertificate and validationContext are one oneof; set one')
  }
  const w = new ProtoWriter().string(1, secret.name)
  if (secret.tlsCertificate) w.message(2, encodeTlsCertificate(secret.tlsCertificate))
  if (secret.validationContext) w.message(4, encodeCertificateValidationContext(secret.validationContext))
  return w.finish()
}
