import { X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parseIpAddress, parseIpv4Address, parseIpv6Address } from '../../../core/x509/ip-address.ts'
import { makeCertificate } from '../../../core/x509/make-certificate.ts'

const hex = (b: Uint8Array | undefined) => (b ? Buffer.from(b).toString('hex') : undefined)

/** RFC 5952 text of 16 octets: the longest run of two or more zero groups as `::` */
function ipv6Text(bytes: Uint8Array): string {
  const words = Array.from({ length: 8 }, (_, i) => (bytes[2 * i]! << 8) | bytes[2 * i + 1]!)
  let best = [-1, 0]
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++
      continue
    }
    let j = i
    while (j < 8 && words[j] === 0) j++
    if (j - i > best[1]! && j - i >= 2) best = [i, j - i]
    i = j
  }
  const text = words.map((w) => w.toString(16))
  if (best[0]! < 0) return text.join(':')
  return `${text.slice(0, best[0]).join(':')}::${text.slice(best[0]! + best[1]!).join(':')}`
}

describe('IP addresses (subjectAltName iPAddress)', () => {
  it('IPv4: four decimal parts without leading zeros', () => {
    expect(hex(parseIpv4Address('10.0.0.5'))).toBe('0a000005')
    expect(hex(parseIpAddress('255.255.255.255'))).toBe('ffffffff')
    for (const bad of ['10.0.0', '10.0.0.5.1', '010.0.0.5', '256.0.0.1', '1.2.3.-4', '1.2.3.4 ', '', 'a.b.c.d'])
      expect(parseIpAddress(bad), bad).toBeUndefined()
  })

  it('IPv6: hex groups, one ::, an IPv4 tail; no zone ID', () => {
    expect(hex(parseIpv6Address('::1'))).toBe(`${'00'.repeat(15)}01`)
    expect(hex(parseIpv6Address('::'))).toBe('00'.repeat(16))
    expect(hex(parseIpAddress('2001:DB8::8:800:200C:417A'))).toBe('20010db80000000000080800200c417a')
    expect(hex(parseIpAddress('::ffff:192.0.2.1'))).toBe('00000000000000000000ffffc0000201')
    expect(hex(parseIpAddress('1:2:3:4:5:6:7::'))).toBe('00010002000300040005000600070000')
    expect(hex(parseIpAddress('1:2:3:4:5:6:1.2.3.4'))).toBe('00010002000300040005000601020304')
    for (const bad of [
      '1::2::3',
      ':1::',
      '1:2:3:4:5:6:7:8:9',
      '1:2:3:4:5:6:7',
      '12345::',
      'fe80::1%eth0',
      '::1.2.3',
      '1.2.3.4::',
      'g::1',
      ':::',
    ])
      expect(parseIpAddress(bad), bad).toBeUndefined()
  })

  it('property: any text gives 4 or 16 octets or undefined, and agrees with node:net on IP-shaped text', () => {
    const ipish = fc.stringMatching(/^[0-9a-fA-F:.]{0,46}$/)
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 60 }), ipish), (text) => {
        const bytes = parseIpAddress(text)
        expect(bytes === undefined || bytes.length === 4 || bytes.length === 16).toBe(true)
        // node:net accepts IPv4 tails in forms this parser refuses too: compare where both are strict
        if (!/[.]/.test(text)) expect(bytes !== undefined).toBe(isIP(text) !== 0)
      }),
      { numRuns: 10_000 },
    )
  })

  it('property: 16 octets written in RFC 5952 form parse back to the same octets', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.boolean(), (bytes, zeros) => {
        if (zeros) bytes.fill(0, 4, 10)
        expect(hex(parseIpv6Address(ipv6Text(bytes)))).toBe(hex(bytes))
      }),
      { numRuns: 10_000 },
    )
  })

  it('makeCertificate encodes IPv4 and IPv6 names that OpenSSL reads back', async () => {
    const kp = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair
    const der = await makeCertificate(
      {
        subject: [{ type: 'CN', value: 'ip test' }],
        notBefore: Date.now() - 60_000,
        notAfter: Date.now() + 60_000,
        publicKey: new Uint8Array(await crypto.subtle.exportKey('spki', kp.publicKey)),
        subjectAltName: { ipAddresses: ['10.0.0.5', '2001:db8::1', '::1'] },
      },
      kp.privateKey,
    )
    const x = new X509Certificate(der)
    expect(x.subjectAltName).toBe('IP Address:10.0.0.5, IP Address:2001:DB8:0:0:0:0:0:1, IP Address:0:0:0:0:0:0:0:1')
    expect(x.checkIP('2001:db8::1')).toBe('2001:db8::1')
    await expect(
      makeCertificate(
        {
          subject: [{ type: 'CN', value: 'x' }],
          notBefore: 0,
          notAfter: 1,
          publicKey: new Uint8Array(await crypto.subtle.exportKey('spki', kp.publicKey)),
          subjectAltName: { ipAddresses: ['fe80::1%eth0'] },
        },
        kp.privateKey,
      ),
    ).rejects.toThrow(/not an IPv4 or IPv6 address: fe80::1%eth0/)
  })
})
