import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { OID } from '../../../core/der/oid.ts'
import { parseDerElement } from '../../../core/der/reader.ts'
import { parseCertificate } from '../../../core/x509/certificate.ts'
import { parsePemCertificates } from '../../../core/bytes/pem.ts'
import { commonName, nameAttributes, namesEqual, parseName } from '../../../core/x509/name.ts'
import { encodeName } from '../../support/x509-builder.ts'

const DIR = new URL('../../vectors/real-tpm-ek/', import.meta.url)
const name = (spec: [string, string][]) => parseName(parseDerElement(encodeName(spec)), 'name')

describe('Name', () => {
  it('compares per RFC 5280 §7.1: case and insignificant spaces ignored, RDN order matters', () => {
    expect(namesEqual(name([[OID.commonName, 'Root  CA']]), name([[OID.commonName, ' root ca ']]))).toBe(true)
    expect(
      namesEqual(
        name([
          [OID.commonName, 'A'],
          [OID.organizationName, 'B'],
        ]),
        name([
          [OID.organizationName, 'B'],
          [OID.commonName, 'A'],
        ]),
      ),
    ).toBe(false)
    expect(
      namesEqual(
        name([[OID.commonName, 'A']]),
        name([
          [OID.commonName, 'A'],
          [OID.commonName, 'A'],
        ]),
      ),
    ).toBe(false)
    expect(namesEqual(name([[OID.commonName, 'A']]), name([[OID.organizationName, 'A']]))).toBe(false)
  })

  it('commonName and attribute lookup', () => {
    const n = name([
      [OID.countryName, 'US'],
      [OID.commonName, 'first'],
      [OID.commonName, 'last'],
    ])
    expect(commonName(n)).toBe('last')
    expect(nameAttributes(n, OID.countryName)).toEqual(['US'])
    expect(commonName(name([]))).toBeUndefined()
  })

  it('Nuvoton: an unsorted multi-valued RDN equals the sorted one (unsorted-set tolerance)', () => {
    const ek = parseCertificate(
      new Uint8Array(readFileSync(new URL('keylime-keylime/extracted/test_registrar/nuvoton_npct75x_rsa_ek.nonDER.der', DIR))),
      { tolerate: ['unsorted-set'] },
    )
    const root = parseCertificate(
      parsePemCertificates(readFileSync(new URL('keylime-keylime/tpm_cert_store/NUVO_2111.pem', DIR), 'latin1'))[0]!,
      { tolerate: ['unsorted-set'] },
    )
    expect(ek.issuer.rdns).toHaveLength(1)
    expect(ek.issuer.rdns[0]!.length).toBe(3)
    expect(namesEqual(ek.issuer, root.subject)).toBe(true)
    expect(commonName(ek.issuer)).toBe('Nuvoton TPM Root CA 2111')
    expect(() => parseCertificate(ek.raw)).toThrow(/not in DER SET order/)
  })
})
