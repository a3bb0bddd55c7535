/**
 * The listener certificate's names: the listen host and `serverNames`, checked on certificates the
 * server CA issues with node:crypto's X509Certificate (OpenSSL's own host and IP matching).
 */
import { X509Certificate } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { withPlatform } from '../../../core/platform.ts'
import { ServerCa } from '../../../server/ca/authority.ts'
import { listenerNames, serverNameProblem } from '../../../server/ca/listener-names.ts'

describe('listener certificate names', () => {
  it('the listen host, then the serverNames, each once', () => {
    expect(listenerNames('127.0.0.1')).toEqual({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
    expect(listenerNames('0.0.0.0')).toEqual({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1'] })
    expect(listenerNames('::')).toEqual({ dnsNames: ['localhost'], ipAddresses: ['127.0.0.1', '::1'] })
    expect(listenerNames('::1')).toEqual({ dnsNames: ['localhost'], ipAddresses: ['::1'] })
    expect(listenerNames('vouch-1.internal', ['vouch.example.net', '10.0.0.5', 'VOUCH.example.net', 'vouch-1.internal'])).toEqual({
      dnsNames: ['vouch-1.internal', 'vouch.example.net'],
      ipAddresses: ['10.0.0.5'],
    })
  })

  it('a server name is a DNS name or an IP address', () => {
    for (const ok of ['localhost', 'vouch.example.net', 'a-b.c0', '10.0.0.5', '2001:db8::1', `${'a'.repeat(63)}.net`])
      expect(serverNameProblem(ok), ok).toBeUndefined()
    expect(serverNameProblem('*.example.net')).toMatch(/^expected a DNS name \(labels of letters, digits and inner '-', dot-separated\)/)
    for (const bad of [
      '-a.net',
      'a-.net',
      'a..net',
      'a.net.',
      'a_b.net',
      'https://a.net',
      `${'a'.repeat(64)}.net`,
      'a b',
      '10.0.0.256',
      '1.2.3',
    ])
      expect(serverNameProblem(bad), bad).toBeDefined()
    expect(serverNameProblem(`${'abcdefghi.'.repeat(26)}net`)).toMatch(/^a DNS name is at most 253 characters, found 263/)
  })

  it('issueTls: the certificate names the listen host and every server name (IPv4, IPv6, DNS)', async () => {
    const { ca } = await ServerCa.create('example.org', withPlatform({}), crypto.subtle)
    const tls = await ca.issueTls('127.0.0.1', 86_400_000, ['vouch.example.net', '10.0.0.5', '2001:db8::5'])
    const leaf = new X509Certificate(tls.certificatePem.split(/(?<=-----END CERTIFICATE-----\n)/)[0]!)
    expect(leaf.subjectAltName).toBe(
      'DNS:localhost, DNS:vouch.example.net, IP Address:127.0.0.1, IP Address:10.0.0.5, IP Address:2001:DB8:0:0:0:0:0:5',
    )
    expect(leaf.checkHost('vouch.example.net')).toBe('vouch.example.net')
    expect(leaf.checkIP('10.0.0.5')).toBe('10.0.0.5')
    expect(leaf.checkIP('2001:db8::5')).toBe('2001:db8::5')
    expect(leaf.checkHost('other.example.net')).toBeUndefined()
    expect(leaf.checkIP('10.0.0.6')).toBeUndefined()
  })
})
