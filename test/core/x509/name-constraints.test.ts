import { describe, expect, it } from 'vitest'
import { OID } from '../../../core/der/oid.ts'
import { parseDerElement } from '../../../core/der/reader.ts'
import type { GeneralName } from '../../../core/x509/general-name.ts'
import { findNameConstraintViolation, isDnsName, uriHost } from '../../../core/x509/name-constraints.ts'
import { parseName } from '../../../core/x509/name.ts'
import { encodeName } from '../../support/x509-builder.ts'

const dns = (value: string): GeneralName => ({ type: 'dNSName', value })
const email = (value: string): GeneralName => ({ type: 'rfc822Name', value })
const uri = (value: string): GeneralName => ({ type: 'uri', value })
const ip = (...bytes: number[]): GeneralName => ({ type: 'iPAddress', bytes: Uint8Array.from(bytes) })
const dn = (...rdns: [string, string][]): GeneralName => ({
  type: 'directoryName',
  name: parseName(parseDerElement(encodeName(rdns)), 'n'),
})

const ok = (names: GeneralName[], permitted: GeneralName[], excluded: GeneralName[] = []) =>
  findNameConstraintViolation(names, { permitted, excluded }) === undefined

describe('name constraints (RFC 5280 §4.2.1.10)', () => {
  it('dNSName: a constraint covers the name and its subdomains; a leading-dot constraint (malformed) covers nothing', () => {
    expect(ok([dns('example.com')], [dns('example.com')])).toBe(true)
    expect(ok([dns('a.b.EXAMPLE.com')], [dns('example.com')])).toBe(true)
    expect(ok([dns('badexample.com')], [dns('example.com')])).toBe(false)
    expect(ok([dns('example.com')], [dns('.example.com')])).toBe(false)
    expect(ok([dns('a.example.com')], [dns('.example.com')])).toBe(false)
    expect(ok([dns('a.example.com')], [], [dns('example.com')])).toBe(false)
    expect(ok([dns('.example.com')], [dns('example.com')])).toBe(false)
    expect(ok([dns('foo_bar.example.com')], [dns('example.com')])).toBe(false)
  })

  it('dNSName: a wildcard SAN meets an excluded subtree it could stand for (CVE-2025-61727)', () => {
    expect(ok([dns('*.example.com')], [], [dns('bar.example.com')])).toBe(false)
    expect(ok([dns('*.example.com')], [], [dns('BAR.example.com')])).toBe(false)
    expect(ok([dns('*.example.com')], [], [dns('example.com')])).toBe(false)
    // two labels below the base: *.example.com never stands for a.bar.example.com
    expect(ok([dns('*.example.com')], [], [dns('a.bar.example.com')])).toBe(true)
    expect(ok([dns('*.example.com')], [], [dns('example.org')])).toBe(true)
    // a plain name is not a wildcard
    expect(ok([dns('foo.example.com')], [], [dns('bar.example.com')])).toBe(true)
  })

  it('otherName: rejected when any otherName constraint is present (not processed)', () => {
    const on = (typeId: string): GeneralName => ({ type: 'otherName', typeId, raw: Uint8Array.of(0xa0, 0x02, 0x05, 0x00) })
    expect(ok([on('1.3.6.1.4.1.99999.1')], [], [on('1.3.6.1.4.1.99999.1')])).toBe(false)
    expect(ok([on('1.3.6.1.4.1.99999.1')], [on('1.3.6.1.4.1.99999.2')])).toBe(false)
    expect(ok([on('1.3.6.1.4.1.99999.1')], [dns('example.com')])).toBe(true)
    expect(ok([dns('example.com')], [], [on('1.3.6.1.4.1.99999.1')])).toBe(true)
  })

  it('isDnsName: preferred name syntax, a leading wildcard label only when allowed', () => {
    expect(isDnsName('a-1.example.com')).toBe(true)
    expect(isDnsName('*.example.com')).toBe(true)
    expect(isDnsName('*.example.com', false)).toBe(false)
    expect(isDnsName('foo_bar.example.com')).toBe(false)
    expect(isDnsName('.example.com', false)).toBe(false)
    expect(isDnsName('-a.example.com')).toBe(false)
    expect(isDnsName('a.*.example.com')).toBe(false)
    expect(isDnsName(`${'a'.repeat(64)}.com`)).toBe(false)
    expect(isDnsName(`${'a'.repeat(63)}.com`)).toBe(true)
  })

  it('rfc822Name: mailbox, host or domain', () => {
    expect(ok([email('a@example.com')], [email('a@example.com')])).toBe(true)
    expect(ok([email('b@example.com')], [email('a@example.com')])).toBe(false)
    expect(ok([email('b@example.com')], [email('example.com')])).toBe(true)
    expect(ok([email('b@sub.example.com')], [email('example.com')])).toBe(false)
    expect(ok([email('b@sub.example.com')], [email('.example.com')])).toBe(true)
  })

  it('uniformResourceIdentifier: the host part; URIs without a host fail a permitted subtree', () => {
    expect(uriHost('spiffe://example.org/workload')).toBe('example.org')
    expect(uriHost('https://user@host.example:8443/x')).toBe('host.example')
    expect(uriHost('urn:uuid:1')).toBeUndefined()
    expect(ok([uri('spiffe://example.org/w')], [uri('example.org')])).toBe(true)
    expect(ok([uri('spiffe://a.example.org/w')], [uri('example.org')])).toBe(false)
    expect(ok([uri('spiffe://a.example.org/w')], [uri('.example.org')])).toBe(true)
    expect(ok([uri('urn:uuid:1')], [uri('example.org')])).toBe(false)
  })

  it('iPAddress: address and mask, per family', () => {
    expect(ok([ip(10, 1, 2, 3)], [ip(10, 0, 0, 0, 255, 0, 0, 0)])).toBe(true)
    expect(ok([ip(11, 1, 2, 3)], [ip(10, 0, 0, 0, 255, 0, 0, 0)])).toBe(false)
    expect(ok([ip(...new Array(16).fill(0))], [ip(10, 0, 0, 0, 255, 0, 0, 0)])).toBe(false)
    expect(ok([ip(192, 168, 1, 1)], [], [ip(192, 168, 0, 0, 255, 255, 0, 0)])).toBe(false)
  })

  it('directoryName: an RDN prefix', () => {
    const base = dn([OID.countryName, 'US'], [OID.organizationName, 'Example'])
    expect(ok([dn([OID.countryName, 'US'], [OID.organizationName, 'example'], [OID.commonName, 'x'])], [base])).toBe(true)
    expect(ok([dn([OID.countryName, 'US'], [OID.organizationName, 'Other'])], [base])).toBe(false)
    expect(ok([dn([OID.countryName, 'US'])], [base])).toBe(false)
  })

  it('constraints of another type do not apply', () => {
    expect(ok([dns('example.org')], [email('example.com')])).toBe(true)
  })
})
