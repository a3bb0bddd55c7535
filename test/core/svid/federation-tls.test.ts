import { createServer, type Server } from 'node:https'
import { connect } from 'node:tls'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SpiffeError } from '../../../core/errors.ts'
import { fetchBundle, type BundleFetcher } from '../../../core/svid/federation.ts'
import { X509Bundle } from '../../../core/svid/x509-bundle.ts'
import { parseCertificate } from '../../../core/x509/certificate.ts'
import { TestCa, testKey, toPemChain, x509Jwk } from '../../support/spiffe-ca.ts'

/**
 * The https_spiffe contract over real TLS: a Node HTTPS bundle endpoint presents an X.509-SVID;
 * the transport below completes the handshake without Web PKI checks, hands the peer chain to
 * verifyPeer, and only then sends the GET.
 */
const nodeSpiffeTransport: BundleFetcher = (request) =>
  new Promise((resolve, reject) => {
    const url = new URL(request.url)
    const socket = connect({ host: url.hostname, port: Number(url.port), rejectUnauthorized: false, servername: 'bundle-endpoint' })
    socket.once('error', reject)
    socket.once('secureConnect', async () => {
      try {
        const chain: Uint8Array[] = []
        let c = socket.getPeerCertificate(true)
        while (c && c.raw && !chain.some((d) => Buffer.from(d).equals(c.raw))) {
          chain.push(new Uint8Array(c.raw))
          c = c.issuerCertificate
        }
        await request.verifyPeer!(chain)
      } catch (e) {
        socket.destroy()
        reject(e)
        return
      }
      const parts: Buffer[] = []
      socket.on('data', (d: Buffer) => parts.push(d))
      socket.once('end', () => {
        const text = Buffer.concat(parts).toString('utf8')
        const [head, body = ''] = text.split('\r\n\r\n')
        resolve({ status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head!)?.[1] ?? 0), body })
      })
      socket.write(`GET ${url.pathname} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: close\r\n\r\n`)
    })
  })

let server: Server
let url: string
let requests = 0
const ca = TestCa.root('remote.test', 'p256', 0)
const bundleDoc = JSON.stringify({ spiffe_refresh_hint: 60, keys: [{ use: 'x509-svid', ...x509Jwk(ca.cert.der) }] })

beforeAll(async () => {
  const inter = ca.childCa('remote.test', 'p256', 1)
  const leafKey = testKey('p256', 2)
  const { chain } = inter.issue('spiffe://remote.test/spire/server', { key: leafKey, dns: ['bundle-endpoint'] })
  server = createServer({ key: leafKey.privateKey.export({ type: 'pkcs8', format: 'pem' }), cert: toPemChain(chain) }, (_req, res) => {
    requests++
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(bundleDoc) })
    res.end(bundleDoc)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/`
})
afterAll(() => new Promise<void>((r) => server.close(() => r())))

describe('https_spiffe over node:tls', () => {
  const endpointBundle = () => new X509Bundle('remote.test', [parseCertificate(ca.cert.der)])

  it('fetches the bundle from an endpoint that presents the expected SVID', async () => {
    const b = await fetchBundle({
      trustDomain: 'remote.test',
      url,
      profile: { type: 'https_spiffe', endpointSpiffeId: 'spiffe://remote.test/spire/server', bundles: endpointBundle() },
      fetch: nodeSpiffeTransport,
    })
    expect(b.refreshHintSeconds).toBe(60)
    expect(b.x509Authorities[0]!.raw).toEqual(ca.cert.der)
  })

  it('sends no request to an endpoint with another ID or another CA', async () => {
    const before = requests
    const wrongId = fetchBundle({
      trustDomain: 'remote.test',
      url,
      profile: { type: 'https_spiffe', endpointSpiffeId: 'spiffe://remote.test/other', bundles: endpointBundle() },
      fetch: nodeSpiffeTransport,
    })
    await expect(wrongId).rejects.toMatchObject({ code: 'ERR_SVID_ID_NOT_ALLOWED' })
    const otherCa = TestCa.root('remote.test', 'p256', 3)
    const wrongCa = fetchBundle({
      trustDomain: 'remote.test',
      url,
      profile: {
        type: 'https_spiffe',
        endpointSpiffeId: 'spiffe://remote.test/spire/server',
        bundles: new X509Bundle('remote.test', [parseCertificate(otherCa.cert.der)]),
      },
      fetch: nodeSpiffeTransport,
    })
    await expect(wrongCa).rejects.toBeInstanceOf(SpiffeError)
    await expect(wrongCa).rejects.toMatchObject({ code: 'ERR_SVID_UNTRUSTED' })
    expect(requests).toBe(before)
  })
})
