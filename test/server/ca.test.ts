import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { withPlatform } from '../../core/platform.ts'
import { parseX509Svid } from '../../core/svid/x509-svid.ts'
import { KEY_USAGE, parseCertificate, verifyChain } from '../../core/x509/index.ts'
import { ServerCa } from '../../server/ca/authority.ts'
import { createNodeCryptoProvider } from '../../runtimes/node/crypto-provider.ts'

const subtle = globalThis.crypto.subtle
const NOW = Date.UTC(2026, 5, 1)
const platform = withPlatform({ now: () => NOW })

async function agentSpki(): Promise<Uint8Array> {
  const k = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])) as CryptoKeyPair
  return new Uint8Array(await subtle.exportKey('spki', k.publicKey))
}

describe('server CA', () => {
  it('creates a self-signed root for the trust domain and reloads it from its PEM files', async () => {
    const { ca, files } = await ServerCa.create('example.org', platform, subtle)
    const root = new X509Certificate(files.certificatePem)
    expect(root.ca).toBe(true)
    expect(root.subjectAltName).toBe('URI:spiffe://example.org')
    expect(root.checkIssued(root)).toBe(true)
    expect(files.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/)
    const again = await ServerCa.load(files, platform, subtle)
    expect(again.certificate.raw).toEqual(ca.certificate.raw)
    // the reloaded key signs SVIDs that chain to the same root
    const svid = await again.issueSvid(await agentSpki(), 'spiffe://example.org/a', 3_600_000)
    await verifyChain({ leaf: svid.der, anchors: [ca.certificate.raw], at: NOW })
  })

  it('issues X.509-SVIDs by the profile: one URI SAN, cA false, digitalSignature, no cert signing, backdated 10 s, TTL', async () => {
    const { ca } = await ServerCa.create('example.org', platform, subtle)
    const spki = await agentSpki()
    const svid = await ca.issueSvid(spki, 'spiffe://example.org/agent/x', 3_600_000)
    const leaf = parseCertificate(svid.der)
    expect(parseX509Svid([svid.der]).id.toString()).toBe('spiffe://example.org/agent/x')
    expect(leaf.basicConstraints).toEqual({ cA: false })
    expect(leaf.keyUsage! & KEY_USAGE.digitalSignature).toBeTruthy()
    expect(leaf.keyUsage! & (KEY_USAGE.keyCertSign | KEY_USAGE.cRLSign)).toBe(0)
    expect(leaf.notBefore).toBe(NOW - 10_000)
    expect(leaf.notAfter).toBe(NOW + 3_600_000)
    expect(leaf.spki).toEqual(spki)
    expect(leaf.issuerRaw).toEqual(ca.certificate.subjectRaw)
    expect(leaf.authorityKeyIdentifier?.keyIdentifier).toEqual(ca.certificate.subjectKeyIdentifier)
    expect(svid.serialHex).toMatch(/^[0-7][0-9a-f]{31}$/)
    const other = await ca.issueSvid(spki, 'spiffe://example.org/agent/x', 3_600_000)
    expect(other.serialHex).not.toBe(svid.serialHex)
  })

  it('loads a configured RSA CA made by openssl, and refuses a certificate that is not a CA', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vouch-ca-'))
    const key = join(dir, 'ca.key')
    const crt = join(dir, 'ca.pem')
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        key,
        '-out',
        crt,
        '-days',
        '3650',
        '-subj',
        '/O=ops/CN=ops root',
        '-addext',
        'basicConstraints=critical,CA:TRUE',
        '-addext',
        'keyUsage=critical,keyCertSign,cRLSign',
      ],
      { stdio: 'ignore' },
    )
    const ca = await ServerCa.load(
      { certificatePem: readFileSync(crt, 'utf8'), privateKeyPem: readFileSync(key, 'utf8') },
      withPlatform({}),
      subtle,
    )
    const svid = await ca.issueSvid(await agentSpki(), 'spiffe://example.org/b', 600_000)
    expect(new X509Certificate(svid.der).verify(new X509Certificate(readFileSync(crt)).publicKey)).toBe(true)
    // the same key signing through node:crypto (the provider path): the same algorithm, a valid signature
    const viaProvider = await ServerCa.load(
      { certificatePem: readFileSync(crt, 'utf8'), privateKeyPem: readFileSync(key, 'utf8') },
      withPlatform({ crypto: createNodeCryptoProvider() }),
      subtle,
    )
    const svid2 = await viaProvider.issueSvid(await agentSpki(), 'spiffe://example.org/b', 600_000)
    expect(new X509Certificate(svid2.der).verify(new X509Certificate(readFileSync(crt)).publicKey)).toBe(true)
    expect(parseCertificate(svid2.der).signatureAlgorithm).toEqual(parseCertificate(svid.der).signatureAlgorithm)
    const leafCrt = join(dir, 'leaf.pem')
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        join(dir, 'leaf.key'),
        '-out',
        leafCrt,
        '-subj',
        '/CN=leaf',
        '-addext',
        'basicConstraints=critical,CA:FALSE',
      ],
      { stdio: 'ignore' },
    )
    await expect(
      ServerCa.load(
        { certificatePem: readFileSync(leafCrt, 'utf8'), privateKeyPem: readFileSync(join(dir, 'leaf.key'), 'utf8') },
        withPlatform({}),
        subtle,
      ),
    ).rejects.toThrow(/cA is not true/)
  })

  it("signs through the platform provider where it signs (node:crypto), with the same profile; rotation's cross certificate too", async () => {
    const provider = createNodeCryptoProvider()
    let signed = 0
    const counting = withPlatform({
      now: () => NOW,
      crypto: { ...provider, sign: (scheme, key, data) => (signed++, provider.sign!(scheme, key, data)) },
    })
    const { ca, files } = await ServerCa.create('example.org', counting, subtle)
    const before = signed
    const svid = await ca.issueSvid(await agentSpki(), 'spiffe://example.org/p', 3_600_000)
    expect(signed).toBe(before + 1)
    const root = new X509Certificate(files.certificatePem)
    const leaf = new X509Certificate(svid.der)
    expect(leaf.verify(root.publicKey)).toBe(true)
    expect(parseCertificate(svid.der).signatureAlgorithm.scheme).toEqual({ name: 'ECDSA', hash: 'SHA-256' })
    await verifyChain({ leaf: svid.der, anchors: [ca.certificate.raw], at: NOW })
    const rotated = await ca.rotate('example.org')
    expect(new X509Certificate(rotated.crossPem).verify(root.publicKey)).toBe(true)
    const next = await ca.issueSvid(await agentSpki(), 'spiffe://example.org/p', 3_600_000)
    expect(new X509Certificate(next.der).verify(new X509Certificate(rotated.files.certificatePem).publicKey)).toBe(true)
    expect(new X509Certificate(next.der).verify(root.publicKey)).toBe(false)
  })

  it('issues the TLS certificate for the listen host (IPv4 and DNS) chaining to the root', async () => {
    const { ca } = await ServerCa.create('example.org', withPlatform({}), subtle)
    for (const [host, san] of [
      ['127.0.0.1', /IP Address:127\.0\.0\.1/],
      ['vouch.internal', /DNS:vouch\.internal/],
    ] as const) {
      const tls = await ca.issueTls(host, 86_400_000)
      const [leaf, root] = tls.certificatePem.split(/(?<=-----END CERTIFICATE-----\n)/)
      const x = new X509Certificate(leaf!)
      expect(x.subjectAltName).toMatch(san)
      expect(x.checkIssued(new X509Certificate(root!))).toBe(true)
      expect(x.checkHost(host === '127.0.0.1' ? 'localhost' : host)).toBeTruthy()
    }
  })
})
