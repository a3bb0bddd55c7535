import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  SPIFFE_VALIDATOR_TYPE_URL,
  decodeSpiffeCertValidatorConfig,
  decodeTypedExtensionConfig,
  encodeSpiffeCertValidatorConfig,
  encodeTypedExtensionConfig,
} from '../../../../core/workload/sds/spiffe-validator.ts'
import { decodeCertificateValidationContext, encodeCertificateValidationContext } from '../../../../core/workload/sds/secret.ts'
import { RUNS, decodesOrFailsStably, fromHex, hex, mutations } from '../fuzz.ts'
import { spiffeValidatorConfig, typedExtensionConfig } from './arbitraries.ts'

const te = new TextEncoder()

describe("Envoy's SPIFFE certificate validator", () => {
  it('SPIFFECertValidatorConfig: trust_domains (1) { name (1), trust_bundle (2) }', () => {
    const bytes = encodeSpiffeCertValidatorConfig({ trustDomains: [{ name: 'td', trustBundle: { inlineBytes: fromHex('aa') } }] })
    expect(hex(bytes)).toBe(`0a09 0a02${hex(te.encode('td'))} 1203 1201aa`.replace(/ /g, ''))
    expect(decodeSpiffeCertValidatorConfig(bytes)).toEqual({ trustDomains: [{ name: 'td', trustBundle: { inlineBytes: fromHex('aa') } }] })
  })

  it('custom_validator_config is field 12 of CertificateValidationContext: TypedExtensionConfig { name (1), typed_config (2) }', () => {
    const vc = {
      customValidatorConfig: {
        name: 'envoy.tls.cert_validator.spiffe',
        typedConfig: { typeUrl: SPIFFE_VALIDATOR_TYPE_URL, value: fromHex('0a00') },
      },
    }
    const bytes = encodeCertificateValidationContext(vc)
    expect(hex(bytes.subarray(0, 1))).toBe('62') // (12 << 3) | 2
    expect(decodeCertificateValidationContext(bytes)).toEqual(vc)
  })

  it('names the trust domain whose bundle does not decode', () => {
    const bad = new Uint8Array([0x0a, 0x00, 0x0a, 0x04, 0x12, 0x02, 0x0a, 0x05])
    expect(() => decodeSpiffeCertValidatorConfig(bad)).toThrow(/^SPIFFECertValidatorConfig.trust_domains\[1\].trust_bundle: /)
  })

  it('property: round trips', () => {
    fc.assert(
      fc.property(spiffeValidatorConfig, (m) => {
        expect(decodeSpiffeCertValidatorConfig(encodeSpiffeCertValidatorConfig(m))).toEqual(m)
      }),
      { numRuns: 1000 },
    )
    fc.assert(
      fc.property(typedExtensionConfig, (m) => {
        expect(decodeTypedExtensionConfig(encodeTypedExtensionConfig(m))).toEqual(m)
      }),
      { numRuns: 1000 },
    )
  })

  it('property: any bytes decode or fail with ERR_WORKLOAD_MALFORMED (each decoder)', () => {
    fc.assert(
      fc.property(mutations(spiffeValidatorConfig.map(encodeSpiffeCertValidatorConfig)), (b) =>
        decodesOrFailsStably(() => decodeSpiffeCertValidatorConfig(b)),
      ),
      { numRuns: RUNS },
    )
    fc.assert(
      fc.property(mutations(typedExtensionConfig.map(encodeTypedExtensionConfig)), (b) =>
        decodesOrFailsStably(() => decodeTypedExtensionConfig(b)),
      ),
      { numRuns: RUNS },
    )
  })
})
