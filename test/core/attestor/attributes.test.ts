import { describe, expect, it } from 'vitest'
import { ekAttributes, serialHex } from '../../../core/attestor/attributes.ts'
import { tpmDevidSelectors } from '../../../core/attestors/tpm-devid/attributes.ts'
import { tpmEkSelectors } from '../../../core/attestors/tpm-ek/attributes.ts'
import { defaultPlatform } from '../../../core/platform.ts'
import { parseCertificate } from '../../../core/x509/certificate.ts'
import { DEVID_INT, DEVID_ROOT, pemToDer, sha1Hex } from '../attestation/fixtures.ts'
import { vector } from '../attestation/live-agent.ts'

describe('attributes and selectors', () => {
  it('serial numbers are lowercase hex of the value (leading 00 octets dropped)', () => {
    expect(serialHex(new Uint8Array([0x00, 0xb2, 0x5c]))).toBe('b25c')
    expect(serialHex(new Uint8Array([0x02]))).toBe('02')
    expect(serialHex(new Uint8Array([0x00]))).toBe('00')
  })

  it('EK attributes: public_hash always, serial with a certificate, identity only when present', () => {
    const cert = parseCertificate(vector('tpm-a/devid-rsa.crt.der'))
    expect(ekAttributes('tpm_ek', { publicHash: 'h' })).toEqual({ 'tpm_ek.public_hash': 'h' })
    expect(ekAttributes('tpm_ek', { publicHash: 'h', certificate: cert })).toEqual({
      'tpm_ek.public_hash': 'h',
      'tpm_ek.serial_number': 'b25c684b97ccda88',
    })
    expect(ekAttributes('x', { publicHash: 'h', identity: { manufacturer: 'id:4E544300', model: 'm', version: 'v' } })).toEqual({
      'x.public_hash': 'h',
      'x.manufacturer': 'id:4E544300',
      'x.model': 'm',
      'x.version': 'v',
    })
  })

  it("SPIRE's selector order: subject cn, issuer cn, then every non-leaf fingerprint once, first-seen order", async () => {
    const leaf = parseCertificate(vector('tpm-a/devid-p256.crt.der'))
    const int = parseCertificate(pemToDer(DEVID_INT))
    const root = parseCertificate(pemToDer(DEVID_ROOT))
    const sel = await tpmDevidSelectors([leaf, int, root, int], defaultPlatform())
    expect(sel.map((s) => s.value)).toEqual([
      'subject:cn:tpm-a-devid-p256',
      'issuer:cn:vouch test DevID Intermediate CA',
      `ca:fingerprint:${sha1Hex(pemToDer(DEVID_INT))}`,
      `ca:fingerprint:${sha1Hex(pemToDer(DEVID_ROOT))}`,
    ])
    expect(sel.every((s) => s.type === 'tpm_devid')).toBe(true)
    expect(tpmEkSelectors('ab')).toEqual([{ type: 'tpm', value: 'pub_hash:ab' }])
  })
})
