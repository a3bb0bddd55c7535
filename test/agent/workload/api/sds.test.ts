// Envoy SDS on the agent socket, as the SPIRE agent serves it, over a real unix socket: a
// StreamSecrets conversation the way Envoy holds it (request, ACK with the nonce, update on rotation),
// FetchSecrets, SPIRE's default names, and refusals.
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { chmodSync, mkdtempSync, rmSync } from 'node:fs'
import { connect as tlsConnect, createServer as createTlsServer } from 'node:tls'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type WorkloadApi, startWorkloadApi } from '../../../../agent/workload/api/index.ts'
import { GrpcStatus } from '../../../../core/workload/index.ts'
import {
  type DiscoveryRequest,
  type DiscoveryResponse,
  SECRET_TYPE_URL,
  SdsMethod,
  type Secret,
  decodeDiscoveryResponse,
  decodeSecret,
  decodeSpiffeCertValidatorConfig,
  encodeDiscoveryRequest,
} from '../../../../core/workload/sds/index.ts'
import { GrpcTestClient } from '../../../support/grpc-client.ts'
import { TestCa } from '../../../support/spiffe-ca.ts'
import { MemorySource, entry } from '../../../support/workload-source.ts'

const UID = process.getuid!()
const FRONT = 'spiffe://example.org/front'
const BACK = 'spiffe://example.org/back'

let dir: string
let source: MemorySource
let api: WorkloadApi
const clients: GrpcTestClient[] = []

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vouch-sds-'))
  chmodSync(dir, 0o755)
  source = await MemorySource.create({
    entries: [
      entry('front', FRONT, [`unix:uid:${UID}`]),
      entry('back', BACK, [`unix:uid:${UID}`]),
      entry('other', 'spiffe://example.org/other', [`unix:uid:${UID + 1}`]),
    ],
    federated: [{ trustDomain: 'partner.test', x509Authorities: [TestCa.root('partner.test').cert.der], jwtAuthorities: new Map() }],
  })
  api = await startWorkloadApi({ socketPath: join(dir, 'agent.sock'), source })
})
afterEach(() => {
  for (const c of clients.splice(0)) c.destroy()
})
afterAll(async () => {
  await api?.close()
  rmSync(dir, { recursive: true, force: true })
})

async function client(): Promise<GrpcTestClient> {
  const c = await GrpcTestClient.connect(api.socketPath)
  clients.push(c)
  return c
}

const NO_HEADER = {} // Envoy sends no workload.spiffe.io metadata; SDS needs none

function request(names: string[], extra: Partial<DiscoveryRequest> = {}): Uint8Array {
  return encodeDiscoveryRequest({
    versionInfo: '',
    node: { id: 'envoy-1', cluster: 'front', userAgentName: 'envoy', userAgentBuildVersion: { major: 1, minor: 28, patch: 0 } },
    resourceNames: names,
    typeUrl: SECRET_TYPE_URL,
    responseNonce: '',
    ...extra,
  })
}

function secrets(r: DiscoveryResponse): Map<string, Secret> {
  expect(r.typeUrl).toBe(SECRET_TYPE_URL)
  return new Map(
    r.resources.map((a) => {
      expect(a.typeUrl).toBe(SECRET_TYPE_URL)
      const s = decodeSecret(a.value)
      return [s.name, s]
    }),
  )
}

const text = (b: Uint8Array | undefined) => new TextDecoder().decode(b)
function inline(ds: unknown): Uint8Array {
  expect(ds).toHaveProperty('inlineBytes')
  return (ds as { inlineBytes: Uint8Array }).inlineBytes
}

/** The leaf of a PEM chain, and that the PEM key is its key. */
function checkTlsCertificate(s: Secret | undefined, id: string): X509Certificate {
  expect(s?.tlsCertificate).toBeDefined()
  const chain = text(inline(s!.tlsCertificate!.certificateChain))
  const leaf = new X509Certificate(chain)
  expect(leaf.subjectAltName).toBe(`URI:${id}`)
  const key = createPrivateKey(text(inline(s!.tlsCertificate!.privateKey)))
  expect(text(inline(s!.tlsCertificate!.privateKey))).toMatch(/^-----BEGIN PRIVATE KEY-----\n/)
  expect(leaf.checkPrivateKey(key)).toBe(true)
  return leaf
}

describe('StreamSecrets', () => {
  it('answers the named certificate and validation context, takes the ACK, and pushes a new version on rotation', async () => {
    const c = await client()
    const s = c.open(SdsMethod.streamSecrets, request([FRONT, 'spiffe://example.org']), { headers: NO_HEADER, keepOpen: true })
    const first = decodeDiscoveryResponse((await s.next())!)
    const got = secrets(first)
    expect([...got.keys()]).toEqual(['spiffe://example.org', FRONT])
    const leaf1 = checkTlsCertificate(got.get(FRONT), FRONT)
    const ca = new X509Certificate(text(inline(got.get('spiffe://example.org')!.validationContext!.trustedCa)))
    expect(ca.raw).toEqual(Buffer.from(source.ca.cert.der))
    expect(leaf1.verify(ca.publicKey)).toBe(true)
    expect(first.versionInfo).toBe('0')
    expect(first.nonce).toMatch(/^[0-9a-f]{8}$/)

    // Envoy ACKs with the version and the nonce: same names, nothing new to send
    s.send(request([FRONT, 'spiffe://example.org'], { versionInfo: first.versionInfo, responseNonce: first.nonce }))
    await expect(s.next(300)).rejects.toThrow(/timed out/)

    source.rotate(['front'])
    const second = decodeDiscoveryResponse((await s.next())!)
    expect(second.versionInfo).toBe('1')
    expect(second.nonce).not.toBe(first.nonce)
    const leaf2 = checkTlsCertificate(secrets(second).get(FRONT), FRONT)
    expect(leaf2.serialNumber).not.toBe(leaf1.serialNumber)
    s.cancel()
  })

  it('ignores a request with a stale nonce; answers when the names change; logs a NACK and keeps serving', async () => {
    const c = await client()
    const s = c.open(SdsMethod.streamSecrets, request([FRONT]), { headers: NO_HEADER, keepOpen: true })
    const first = decodeDiscoveryResponse((await s.next())!)
    s.send(request([BACK], { responseNonce: 'stale000' }))
    await expect(s.next(300)).rejects.toThrow(/timed out/)
    s.send(request([BACK], { versionInfo: first.versionInfo, responseNonce: first.nonce, errorDetail: { code: 13, message: 'bad key' } }))
    const second = decodeDiscoveryResponse((await s.next())!)
    expect([...secrets(second).keys()]).toEqual([BACK])
    s.cancel()
  })

  it("SPIRE's default names: `default` is the first SVID, `ROOTCA` the own trust domain's bundle", async () => {
    const c = await client()
    const s = c.open(SdsMethod.streamSecrets, request(['default', 'ROOTCA']), { headers: NO_HEADER, keepOpen: true })
    const got = secrets(decodeDiscoveryResponse((await s.next())!))
    expect([...got.keys()].sort()).toEqual(['ROOTCA', 'default'])
    checkTlsCertificate(got.get('default'), FRONT)
    expect(new X509Certificate(text(inline(got.get('ROOTCA')!.validationContext!.trustedCa))).raw).toEqual(Buffer.from(source.ca.cert.der))
    s.cancel()
  })

  it("`ALL`: one validation context with the SPIFFE validator and every trust domain (SPIRE's name)", async () => {
    const c = await client()
    const r = await c.unary(SdsMethod.fetchSecrets, request(['ALL']), NO_HEADER)
    const all = secrets(decodeDiscoveryResponse(r.messages[0]!)).get('ALL')!
    const custom = all.validationContext!.customValidatorConfig!
    expect(custom.name).toBe('envoy.tls.cert_validator.spiffe')
    expect(custom.typedConfig!.typeUrl).toBe('type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig')
    const config = decodeSpiffeCertValidatorConfig(custom.typedConfig!.value)
    expect(config.trustDomains.map((t) => t.name)).toEqual(['example.org', 'partner.test'])
    const own = new X509Certificate(text(inline(config.trustDomains[0]!.trustBundle)))
    expect(own.raw).toEqual(Buffer.from(source.ca.cert.der))
  })

  it('no names: every certificate the caller matches and every trust domain (federated included)', async () => {
    const c = await client()
    const s = c.open(SdsMethod.streamSecrets, request([]), { headers: NO_HEADER, keepOpen: true })
    const got = secrets(decodeDiscoveryResponse((await s.next())!))
    expect([...got.keys()]).toEqual(['spiffe://example.org', 'spiffe://partner.test', FRONT, BACK])
    s.cancel()
  })

  it('a name the caller is not entitled to is InvalidArgument and ends the stream', async () => {
    const c = await client()
    const s = c.open(SdsMethod.streamSecrets, request([FRONT, 'spiffe://example.org/other', 'spiffe://nowhere.test']), {
      headers: NO_HEADER,
      keepOpen: true,
    })
    const r = await s.done
    expect(r.status).toBe(GrpcStatus.INVALID_ARGUMENT)
    expect(r.message).toBe(
      'ERR_WORKLOAD_API_SDS_NOT_AUTHORIZED: workload is not authorized for the requested identities ["spiffe://example.org/other" "spiffe://nowhere.test"]',
    )
  })

  it('another resource type, or a request that does not decode, is InvalidArgument', async () => {
    const c = await client()
    const wrong = c.open(SdsMethod.streamSecrets, request([], { typeUrl: 'type.googleapis.com/envoy.config.cluster.v3.Cluster' }), {
      headers: NO_HEADER,
    })
    expect(await wrong.done).toMatchObject({
      status: GrpcStatus.INVALID_ARGUMENT,
      message: expect.stringMatching(/^ERR_WORKLOAD_API_REQUEST_INVALID: SDS serves/),
    })
    const bad = c.open(SdsMethod.streamSecrets, new Uint8Array([0x12, 0x09, 0x0a]), { headers: NO_HEADER })
    expect(await bad.done).toMatchObject({
      status: GrpcStatus.INVALID_ARGUMENT,
      message: expect.stringMatching(/^ERR_WORKLOAD_MALFORMED: DiscoveryRequest: /),
    })
  })
})

describe('the secrets work in a TLS stack as Envoy would use them', () => {
  it('two SDS certificates and the ROOTCA validation context make a mutual TLS handshake (node:tls / OpenSSL)', async () => {
    const c = await client()
    const r = await c.unary(SdsMethod.fetchSecrets, request([FRONT, BACK, 'ROOTCA']), NO_HEADER)
    const got = secrets(decodeDiscoveryResponse(r.messages[0]!))
    const pair = (id: string) => ({
      cert: text(inline(got.get(id)!.tlsCertificate!.certificateChain)),
      key: text(inline(got.get(id)!.tlsCertificate!.privateKey)),
    })
    const ca = text(inline(got.get('ROOTCA')!.validationContext!.trustedCa))
    const server = createTlsServer({ ...pair(BACK), ca, requestCert: true, rejectUnauthorized: true }, (socket) => {
      socket.end(`hello ${(socket.getPeerCertificate() as { subjectaltname?: string }).subjectaltname}`)
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const port = (server.address() as { port: number }).port
      const answer = await new Promise<{ said: string; serverSan: string | undefined }>((resolve, reject) => {
        // SPIFFE X.509-SVIDs carry no DNS name: the peer is checked by its URI SAN instead
        const socket = tlsConnect({ ...pair(FRONT), ca, host: '127.0.0.1', port, checkServerIdentity: () => undefined }, () => {
          let said = ''
          socket.on('data', (d) => {
            said += d
          })
          socket.on('end', () => resolve({ said, serverSan: (socket.getPeerCertificate() as { subjectaltname?: string }).subjectaltname }))
        })
        socket.on('error', reject)
      })
      expect(answer).toEqual({ said: `hello URI:${FRONT}`, serverSan: `URI:${BACK}` })
    } finally {
      server.close()
    }
  })
})

describe('FetchSecrets and DeltaSecrets', () => {
  it('FetchSecrets answers once, with no version and no nonce', async () => {
    const c = await client()
    const r = await c.unary(SdsMethod.fetchSecrets, request([BACK, 'ROOTCA']), NO_HEADER)
    expect(r.status).toBe(GrpcStatus.OK)
    const res = decodeDiscoveryResponse(r.messages[0]!)
    expect([res.versionInfo, res.nonce]).toEqual(['', ''])
    checkTlsCertificate(secrets(res).get(BACK), BACK)
  })

  it('DeltaSecrets is Unimplemented', async () => {
    const c = await client()
    const r = await c.unary(SdsMethod.deltaSecrets, new Uint8Array(), NO_HEADER)
    expect([r.status, r.message]).toEqual([
      GrpcStatus.UNIMPLEMENTED,
      'ERR_WORKLOAD_API_METHOD_UNKNOWN: DeltaSecrets is not implemented; use StreamSecrets',
    ])
  })
})
