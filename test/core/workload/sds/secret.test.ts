import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeCertificateValidationContext,
  decodeSecret,
  decodeTlsCertificate,
  encodeCertificateValidationContext,
  encodeSecret,
  encodeTlsCertificate,
} from '../../../../core/workload/sds/secret.ts'
import { ProtoWriter } from '../../../../core/workload/wire.ts'
import { RUNS, decodesOrFailsStably, fromHex, hex, mutations } from '../fuzz.ts'
import { secret, tlsCertificate, validationContext } from './arbitraries.ts'

describe('envoy.extensions.transport_sockets.tls.v3.Secret', () => {
  it('a tls_certificate secret: name (1), tls_certificate (2) { certificate_chain (1), private_key (2) }', () => {
    const bytes = encodeSecret({
      name: 'default',
      tlsCertificate: { certificateChain: { inlineBytes: fromHex('c1') }, privateKey: { inlineBytes: fromHex('4b') } },
    })
    // 0a 07 "default" | 12 0a { 0a 03 {12 01 c1} 12 03 {12 01 4b} }
    expect(hex(bytes)).toBe(`0a07${hex(new TextEncoder().encode('default'))}120a0a031201c1120312014b`)
    expect(decodeSecret(bytes)).toEqual({
      name: 'default',
      tlsCertificate: { certificateChain: { inlineBytes: fromHex('c1') }, privateKey: { inlineBytes: fromHex('4b') } },
    })
  })

  it('a validation_context secret: field 4 { trusted_ca (1) }', () => {
    const bytes = encodeSecret({ name: 'ROOTCA', validationContext: { trustedCa: { inlineBytes: fromHex('ca') } } })
    expect(hex(bytes)).toBe(`0a06${hex(new TextEncoder().encode('ROOTCA'))}2205 0a03 1201ca`.replace(/ /g, ''))
    expect(decodeSecret(bytes).validationContext).toEqual({ trustedCa: { inlineBytes: fromHex('ca') } })
  })

  it('the oneof keeps its last member; session_ticket_keys and generic_secret are named, not decoded', () => {
    const tls = encodeTlsCertificate({ certificateChain: { inlineBytes: fromHex('01') } })
    const vc = encodeCertificateValidationContext({ trustedCa: { inlineBytes: fromHex('02') } })
    expect(decodeSecret(new ProtoWriter().string(1, 'n').message(2, tls).message(4, vc).finish())).toEqual({
      name: 'n',
      validationContext: { trustedCa: { inlineBytes: fromHex('02') } },
    })
    expect(decodeSecret(new ProtoWriter().message(2, tls).message(5, fromHex('0a00')).finish())).toEqual({
      name: '',
      otherType: 'generic_secret',
    })
    expect(decodeSecret(new ProtoWriter().message(3, new Uint8Array()).finish())).toEqual({ name: '', otherType: 'session_ticket_keys' })
  })

  it('fields vouch does not model (password, SAN matchers, SPKI pins) are skipped', () => {
    const tls = new ProtoWriter().message(3, fromHex('1a0170')).message(1, fromHex('1201aa')).message(7, fromHex('0a012f')).finish()
    expect(decodeTlsCertificate(tls)).toEqual({ certificateChain: { inlineBytes: fromHex('aa') } })
    const vc = new ProtoWriter().message(9, fromHex('0a0178')).message(15, fromHex('0a00')).string(3, 'spki').finish()
    expect(decodeCertificateValidationContext(vc)).toEqual({})
  })

  it('refuses to encode both members of the oneof', () => {
    expect(() => encodeSecret({ name: 'x', tlsCertificate: {}, validationContext: {} })).toThrow(TypeError)
  })

  it('names the nested field of a malformed secret', () => {
    const bad = new ProtoWriter().string(1, 'n').message(2, fromHex('0a021205')).finish()
    expect(() => decodeSecret(bad)).toThrow(/^Secret.tls_certificate.certificate_chain: /)
  })

  it('property: round trip of Secret, TlsCertificate, CertificateValidationContext', () => {
    fc.assert(
      fc.property(secret, (m) => {
        expect(decodeSecret(encodeSecret(m))).toEqual(m)
      }),
      { numRuns: 1000 },
    )
    fc.assert(
      fc.property(tlsCertificate, (m) => {
        expect(decodeTlsCertificate(encodeTlsCertificate(m))).toEqual(m)
      }),
      { numRuns: 500 },
    )
    fc.assert(
      fc.property(validationContext, (m) => {
        expect(decodeCertificateValidationContext(encodeCertificateValidationContext(m))).toEqual(m)
      }),
      { numRuns: 500 },
    )
  })

  it('property: any bytes decode or fail with ERR_WORKLOAD_MALFORMED (each decoder)', () => {
    fc.assert(
      fc.property(mutations(secret.map(encodeSecret)), (b) => decodesOrFailsStably(() => decodeSecret(b))),
      { numRuns: RUNS },
    )
    fc.assert(
      fc.property(mutations(tlsCertificate.map(encodeTlsCertificate)), (b) => decodesOrFailsStably(() => decodeTlsCertificate(b))),
      { numRuns: RUNS },
    )
    fc.assert(
      fc.property(mutations(validationContext.map(encodeCertificateValidationContext)), (b) =>
        decodesOrFailsStably(() => decodeCertificateValidationContext(b)),
      ),
      { numRuns: RUNS },
    )
  })
})
