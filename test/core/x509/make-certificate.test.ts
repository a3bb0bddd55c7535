import { execFileSync } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { toPem } from '../../../core/bytes/pem.ts'
import { OID } from '../../../core/der/oid.ts'
import { encodeTime } from '../../../core/x509/der-encode.ts'
import { KEY_USAGE, parseCertificate, verifyChain, commonName } from '../../../core/x509/index.ts'
import { encodeKeyUsage, keyIdentifier, makeCertificate } from '../../../core/x509/make-certificate.ts'

const subtle = globalThis.crypto.subtle
const NOW = Date.UTC(2026, 0, 1)
const DAY = 86_400_000

async function ecKey(namedCurve = 'P-256'): Promise<CryptoKeyPair> {
  return (await subtle.generateKey({ name: 'ECDSA', namedCurve }, true, ['sign', 'verify'])) as CryptoKeyPair
}
async function rsaKey(): Promise<CryptoKeyPair> {
  return (await subtle.generateKey(
    { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair
}
async function spkiOf(k: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await subtle.exportKey('spki', k))
}

async function makeCa(pair: CryptoKeyPair, cn = 'vouch test CA') {
  const spki = await spkiOf(pair.publicKey)
  const der = await makeCertificate(
    {
      subject: [
        { type: 'C', value: 'US' },
        { type: 'O', value: 'vouch' },
        { type: 'CN', value: cn },
      ],
      notBefore: NOW - DAY,
      notAfter: NOW + 365 * DAY,
      publicKey: spki,
      basicConstraints: { cA: true, pathLenConstraint: 1 },
      keyUsage: ['keyCertSign', 'cRLSign'],
      subjectKeyIdentifier: true,
    },
    pair.privateKey,
  )
  return { der, ski: await keyIdentifier(spki) }
}

describe('makeCertificate', () => {
  for (const [label, gen] of [
    ['ECDSA P-256', () => ecKey('P-256')],
    ['ECDSA P-384', () => ecKey('P-384')],
    ['RSA 2048', rsaKey],
  ] as const) {
    it(`a ${label} CA issues a leaf that vouch parses and verifies to the CA`, async () => {
      const caPair = await gen()
      const ca = await makeCa(caPair)
      const caCert = parseCertificate(ca.der)
      expect(caCert.basicConstraints).toEqual({ cA: true, pathLenConstraint: 1 })
      expect(caCert.keyUsage).toBe(KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign)
      expect(caCert.subjectKeyIdentifier).toEqual(ca.ski)

      const leafPair = await ecKey()
      const der = await makeCertificate(
        {
          serialNumber: Uint8Array.of(0x00, 0x80, 0x01),
          subject: [{ type: 'O', value: 'SPIRE' }],
          issuer: [
            { type: 'C', value: 'US' },
            { type: 'O', value: 'vouch' },
            { type: 'CN', value: 'vouch test CA' },
          ],
          notBefore: new Date(NOW - 10_000),
          notAfter: NOW + 3600_000,
          publicKey: await spkiOf(leafPair.publicKey),
          basicConstraints: { cA: false },
          keyUsage: ['digitalSignature', 'keyEncipherment', 'keyAgreement'],
          extKeyUsage: ['serverAuth', 'clientAuth'],
          subjectAltName: {
            uris: ['spiffe://example.org/agent/tpm_devid/abc'],
            dnsNames: ['node1.example.org'],
            ipAddresses: ['127.0.0.1'],
            directoryNames: [[{ type: 'CN', value: 'dir' }]],
          },
          subjectKeyIdentifier: true,
          authorityKeyIdentifier: ca.ski,
        },
        caPair.privateKey,
      )
      const leaf = parseCertificate(der)
      expect(leaf.version).toBe(3)
      expect(leaf.serialNumber).toEqual(Uint8Array.of(0x00, 0x80, 0x01))
      expect(leaf.notBefore).toBe(NOW - 10_000)
      expect(leaf.notAfter).toBe(NOW + 3600_000)
      expect(leaf.basicConstraints).toEqual({ cA: false })
      expect(leaf.keyUsage).toBe(KEY_USAGE.digitalSignature | KEY_USAGE.keyEncipherment | KEY_USAGE.keyAgreement)
      expect(leaf.extKeyUsage).toEqual([OID.serverAuth, OID.clientAuth])
      expect(leaf.subjectAltName).toContainEqual({ type: 'uri', value: 'spiffe://example.org/agent/tpm_devid/abc' })
      expect(leaf.subjectAltName).toContainEqual({ type: 'dNSName', value: 'node1.example.org' })
      expect(leaf.subjectAltName).toContainEqual({ type: 'iPAddress', bytes: Uint8Array.of(127, 0, 0, 1) })
      const dir = leaf.subjectAltName!.find((n) => n.type === 'directoryName')
      expect(dir && dir.type === 'directoryName' && commonName(dir.name)).toBe('dir')
      expect(leaf.authorityKeyIdentifier?.keyIdentifier).toEqual(ca.ski)
      const chain = await verifyChain({ leaf: der, anchors: [ca.der], at: NOW })
      expect(chain.path.length).toBe(2)
      // a different CA key with the same name does not verify the leaf
      const other = await makeCa(await gen())
      await expect(verifyChain({ leaf: der, anchors: [other.der], at: NOW })).rejects.toMatchObject({ code: 'ERR_X509_SIGNATURE_INVALID' })
    })
  }

  it('openssl accepts the output and reads the same fields', async () => {
    const caPair = await ecKey()
    const ca = await makeCa(caPair)
    const leafPair = await rsaKey()
    const leaf = await makeCertificate(
      {
        subject: [{ type: 'CN', value: 'leaf' }],
        issuer: [
          { type: 'C', value: 'US' },
          { type: 'O', value: 'vouch' },
          { type: 'CN', value: 'vouch test CA' },
        ],
        notBefore: Date.now() - 10_000,
        notAfter: Date.now() + 3600_000,
        publicKey: await spkiOf(leafPair.publicKey),
        subjectAltName: { uris: ['spiffe://example.org/x'] },
        authorityKeyIdentifier: ca.ski,
      },
      caPair.privateKey,
    )
    const caNow = await makeCertificate(
      {
        subject: [
          { type: 'C', value: 'US' },
          { type: 'O', value: 'vouch' },
          { type: 'CN', value: 'vouch test CA' },
        ],
        notBefore: Date.now() - DAY,
        notAfter: Date.now() + DAY,
        publicKey: await spkiOf(caPair.publicKey),
        basicConstraints: { cA: true },
        keyUsage: ['keyCertSign'],
        subjectKeyIdentifier: ca.ski,
      },
      caPair.privateKey,
    )
    const dir = mkdtempSync(join(tmpdir(), 'vouch-mkcert-'))
    writeFileSync(join(dir, 'ca.pem'), toPem('CERTIFICATE', caNow))
    writeFileSync(join(dir, 'leaf.pem'), toPem('CERTIFICATE', leaf))
    const text = execFileSync('openssl', ['x509', '-in', join(dir, 'leaf.pem'), '-noout', '-text'], { encoding: 'utf8' })
    expect(text).toContain('URI:spiffe://example.org/x')
    expect(text).toContain('Subject: CN = leaf')
    const out = execFileSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' })
    expect(out).toContain('leaf.pem: OK')
  })

  it('encodes keyUsage with trailing zero bits trimmed (X.690 §11.2.2)', () => {
    expect([...encodeKeyUsage(['digitalSignature'])]).toEqual([0x03, 0x02, 0x07, 0x80])
    expect([...encodeKeyUsage(['keyCertSign', 'cRLSign'])]).toEqual([0x03, 0x02, 0x01, 0x06])
    expect([...encodeKeyUsage(['decipherOnly'])]).toEqual([0x03, 0x03, 0x07, 0x00, 0x80])
  })

  it('encodes UTCTime before 2050 and GeneralizedTime from 2050', () => {
    expect(new TextDecoder().decode(encodeTime(Date.UTC(2049, 11, 31, 23, 59, 59)).subarray(2))).toBe('491231235959Z')
    expect(encodeTime(Date.UTC(2049, 0, 1))[0]).toBe(0x17)
    expect(new TextDecoder().decode(encodeTime(Date.UTC(2050, 0, 1)).subarray(2))).toBe('20500101000000Z')
    expect(encodeTime(Date.UTC(2050, 0, 1))[0]).toBe(0x18)
  })

  it('rejects a public key instead of a private key, and inverted validity', async () => {
    const pair = await ecKey()
    const t = { subject: [{ type: 'CN', value: 'x' }], notBefore: NOW, notAfter: NOW + 1, publicKey: await spkiOf(pair.publicKey) }
    await expect(makeCertificate(t, pair.publicKey)).rejects.toThrow(/private key/)
    await expect(makeCertificate({ ...t, notAfter: NOW - 1 }, pair.privateKey)).rejects.toThrow(/notAfter/)
  })
})

describe('makeCertificate with a CertificateSigner (a key outside Web Crypto, e.g. TPM-resident)', () => {
  it('uses the given AlgorithmIdentifier and signature bits', async () => {
    const pair = await ecKey()
    const { encodeOidTlv, encodeSequence } = await import('../../../core/x509/der-encode.ts')
    const { ecdsaP1363ToDer } = await import('../../../core/crypto/ecdsa-signature.ts')
    let signed = 0
    const signer = {
      algorithmIdentifier: encodeSequence(encodeOidTlv(OID.ecdsaWithSHA256)),
      sign: async (tbs: Uint8Array) => {
        signed++
        return ecdsaP1363ToDer(
          new Uint8Array(await subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, pair.privateKey, tbs as Uint8Array<ArrayBuffer>)),
        )
      },
    }
    const spki = await spkiOf(pair.publicKey)
    const der = await makeCertificate(
      {
        subject: [{ type: 'CN', value: 'self' }],
        notBefore: NOW,
        notAfter: NOW + DAY,
        publicKey: spki,
        basicConstraints: { cA: true },
        keyUsage: ['keyCertSign'],
      },
      signer,
    )
    // a CA gets its subjectKeyIdentifier by default (RFC 5280 §4.2.1.2)
    expect(parseCertificate(der).subjectKeyIdentifier).toEqual(await keyIdentifier(spki))
    expect(signed).toBe(1)
    expect((await verifyChain({ leaf: der, anchors: [der], at: NOW })).path).toHaveLength(1)
    expect(parseCertificate(der).signatureAlgorithm).toMatchObject({ oid: OID.ecdsaWithSHA256 })
  })
})
