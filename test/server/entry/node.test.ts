/**
 * The Node server keeps running without restarts: the listener certificate is reissued before it
 * expires and served on the next connection (secure-context swap); the server CA warns, rotates
 * with overlap (both roots in the bundle, spiffe_sequence + 1) and a cross certificate so agents
 * trusting only the old root still connect; SVIDs from the new root verify against the bundle.
 * The clock is the platform's, moved forward; nothing waits on wall time.
 */
import { X509Certificate } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect, type PeerCertificate } from 'node:tls'
import { afterEach, describe, expect, it } from 'vitest'
import { withPlatform } from '../../../core/platform.ts'
import { parseSpiffeBundle } from '../../../core/svid/spiffe-bundle.ts'
import { verifyX509Svid } from '../../../core/svid/x509-svid.ts'
import { createNodePlatform } from '../../../runtimes/node/index.ts'
import { CA_VALIDITY_MS } from '../../../server/ca/authority.ts'
import { loadConfigFile } from '../../../server/entry/bootstrap.ts'
import { clientCertificateRequest, startNodeServer, type RunningServer } from '../../../server/entry/node.ts'
import { newKey } from '../../e2e/http-agent.ts'
import { writeServerFiles } from '../../e2e/setup.ts'
import { toPem } from '../../../core/bytes/pem.ts'

const DAY = 86_400_000
let running: RunningServer[] = []
afterEach(async () => {
  await Promise.all(running.map((s) => s.close()))
  running = []
})

async function start(extra: string) {
  const files = writeServerFiles({ tls: true, extra })
  const clock = { offset: 0 }
  const logs: Record<string, unknown>[] = []
  const platform = withPlatform({ now: () => Date.now() + clock.offset }, createNodePlatform())
  const s = await startNodeServer(loadConfigFile(files.configPath, {}), {
    platform,
    write: (l) => logs.push(JSON.parse(l) as Record<string, unknown>),
  })
  running.push(s)
  return { s, clock, logs, platform, files }
}

/** The listener's chain as presented on a new connection (no verification: the test checks it). */
function peerChain(url: string, ca?: string): Promise<{ chain: X509Certificate[]; authorized: boolean; error?: string }> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const socket = connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false, ...(ca ? { ca } : {}) }, () => {
      const chain: X509Certificate[] = []
      let c: PeerCertificate | undefined = socket.getPeerCertificate(true)
      const seen = new Set<string>()
      while (c?.raw && !seen.has(c.fingerprint256)) {
        seen.add(c.fingerprint256)
        chain.push(new X509Certificate(c.raw))
        c = (c as { issuerCertificate?: PeerCertificate }).issuerCertificate
      }
      const authError = socket.authorizationError ? String(socket.authorizationError) : undefined
      resolve({ chain, authorized: socket.authorized, ...(authError ? { error: authError } : {}) })
      socket.end()
    })
    socket.on('error', reject)
  })
}

/** The served bundle (through the app: after the clock moved, the new root is not yet valid for real-time TLS) */
async function bundleOf(s: RunningServer) {
  const res = await s.server.app.request('/v1/bundle')
  return parseSpiffeBundle('example.org', await res.text())
}

describe('listener certificate renewal', () => {
  it('a certificate due for renewal is reissued and the next connection gets it, with no restart', async () => {
    const { s, clock, logs } = await start('tlsCertTtl: 1h\ntlsRenewBefore: 20m\n')
    const caPem = toPem('CERTIFICATE', s.server.ca.certificate.raw)
    const first = await peerChain(s.url, caPem)
    expect(first.authorized).toBe(true)
    const leaf1 = first.chain[0]!
    expect(Date.parse(leaf1.validTo) - Date.parse(leaf1.validFrom)).toBeLessThanOrEqual(3_600_000 + 10_000)
    // 30 minutes on: not due (renewal starts 20 minutes before expiry)
    clock.offset = 30 * 60_000
    await s.server.maintain()
    expect((await peerChain(s.url)).chain[0]!.serialNumber).toBe(leaf1.serialNumber)
    // 45 minutes on: due; the same listener serves a new certificate from the same CA
    clock.offset = 45 * 60_000
    await s.server.maintain()
    const leaf2 = (await peerChain(s.url)).chain[0]!
    expect(leaf2.serialNumber).not.toBe(leaf1.serialNumber)
    expect(Date.parse(leaf2.validTo)).toBeGreaterThan(Date.parse(leaf1.validTo) + 40 * 60_000)
    expect(leaf2.verify(new X509Certificate(caPem).publicKey)).toBe(true)
    expect(logs.filter((l) => l.msg === 'Listener certificate renewed')).toHaveLength(1)
    const metrics = await (await s.server.app.request('/metrics')).text()
    expect(metrics).toContain(`vouch_tls_certificate_expiry_timestamp_seconds ${Date.parse(leaf2.validTo) / 1000}`)
    expect(Math.floor(s.server.tls!.notAfter / 1000) * 1000).toBe(Date.parse(leaf2.validTo))
    // the renewed context keeps the listener's limits: a TLS 1.2 suite without AEAD, which Node's
    // default context accepts, is still refused after the swap
    const u = new URL(s.url)
    const cbc = await new Promise<string>((resolve) => {
      const c = connect(
        {
          host: u.hostname,
          port: Number(u.port),
          rejectUnauthorized: false,
          maxVersion: 'TLSv1.2',
          ciphers: 'ECDHE-ECDSA-AES128-SHA256@SECLEVEL=0',
        },
        () => {
          resolve(`accepted ${c.getCipher().name}`)
          c.end()
        },
      )
      c.on('error', () => resolve('refused'))
    })
    expect(cbc).toBe('refused')
  }, 30_000)

  it('refuses a renewal lead that is not shorter than the lifetime', async () => {
    await expect(start('tlsCertTtl: 1h\ntlsRenewBefore: 2h\n')).rejects.toThrow(/config tlsRenewBefore: must be shorter than tlsCertTtl/)
  })
})

describe('server CA rotation', () => {
  it('warns from twice caRotateBefore, and does not rotate yet', async () => {
    const { s, logs, clock } = await start('caRotateBefore: 1000d\n')
    expect(logs.some((l) => l.msg === 'Server CA expires soon')).toBe(false)
    // 1,999 days left: inside twice the lead (2,000 days), outside the lead itself
    clock.offset = CA_VALIDITY_MS - 1999 * DAY
    await s.server.maintain()
    expect(logs.some((l) => l.msg === 'Server CA expires soon' && l.level === 'warn')).toBe(true)
    expect((await bundleOf(s)).x509.authorities).toHaveLength(1)
  }, 30_000)

  it('rotates when due: both roots in the bundle, sequence + 1, new SVIDs verify, old-root agents still connect, and it survives a restart', async () => {
    const { s, clock, logs, platform, files } = await start('')
    const oldRoot = toPem('CERTIFICATE', s.server.ca.certificate.raw)
    const before = await bundleOf(s)
    expect(before.sequenceNumber).toBe(1n)
    expect(before.x509.authorities).toHaveLength(1)

    clock.offset = CA_VALIDITY_MS - 300 * DAY // less than the default 365 days left
    await s.server.maintain()
    expect(logs.some((l) => l.msg === 'Server CA rotated' && l.sequence === '2')).toBe(true)
    const newRoot = toPem('CERTIFICATE', s.server.ca.certificate.raw)
    expect(newRoot).not.toBe(oldRoot)

    // the served bundle: the new root first, the old one kept; the sequence incremented
    const after = await bundleOf(s)
    expect(after.sequenceNumber).toBe(2n)
    const metrics = await (await s.server.app.request('/metrics')).text()
    expect(metrics).toContain('vouch_bundle_sequence 2')
    expect(metrics).toContain(`vouch_ca_expiry_timestamp_seconds ${Math.floor(s.server.ca.certificate.notAfter / 1000)}`)
    expect(after.x509.authorities.map((c) => toPem('CERTIFICATE', c.raw))).toEqual([newRoot, oldRoot])

    // an SVID from the new root verifies against the served bundle
    const { spki } = await newKey()
    const svid = await s.server.ca.issueSvid(spki, 'spiffe://example.org/agent/x', 3_600_000)
    expect(new X509Certificate(svid.der).verify(new X509Certificate(newRoot).publicKey)).toBe(true)
    const verified = await verifyX509Svid([svid.der], after, { platform })
    expect(verified.id.toString()).toBe('spiffe://example.org/agent/x')

    // the listener was reissued by the new root, with the cross certificate in its chain
    expect(logs.some((l) => l.msg === 'Listener certificate renewed' && l.reason === 'server CA rotated')).toBe(true)
    const chain = (await peerChain(s.url)).chain
    expect(chain[0]!.verify(new X509Certificate(newRoot).publicKey)).toBe(true)
    expect(chain[1]!.subject).toBe(new X509Certificate(newRoot).subject)
    expect(chain[1]!.verify(new X509Certificate(oldRoot).publicKey)).toBe(true)

    // restart: the rotated CA, the retired root and the sequence are read back
    await s.close()
    running = running.filter((r) => r !== s)
    const again = await startNodeServer(loadConfigFile(files.configPath, {}), { platform, write: () => {} })
    running.push(again)
    const reread = await bundleOf(again)
    expect(reread.sequenceNumber).toBe(2n)
    expect(reread.x509.authorities.map((c) => toPem('CERTIFICATE', c.raw))).toEqual([newRoot, oldRoot])
  }, 30_000)

  it('rotateCa now: a client that trusts only the old root and one that trusts only the new root both verify the listener', async () => {
    const { s } = await start('')
    const oldRoot = toPem('CERTIFICATE', s.server.ca.certificate.raw)
    await s.server.rotateCa()
    const newRoot = toPem('CERTIFICATE', s.server.ca.certificate.raw)
    const viaOld = await peerChain(s.url, oldRoot)
    expect(viaOld.error).toBeUndefined()
    expect(viaOld.authorized).toBe(true)
    const viaNew = await peerChain(s.url, newRoot)
    expect(viaNew.authorized).toBe(true)
    expect(s.server.ca.sequence).toBe(2n)
  }, 30_000)

  it('the client certificate request names every root of the bundle, the new one after a rotation', async () => {
    const { s } = await start('')
    const oldRoot = toPem('CERTIFICATE', s.server.ca.certificate.raw)
    expect(clientCertificateRequest(s.server.ca)).toEqual({ requestCert: true, rejectUnauthorized: false, ca: oldRoot })
    await s.server.rotateCa()
    const { ca } = clientCertificateRequest(s.server.ca)
    expect(ca).toBe(toPem('CERTIFICATE', s.server.ca.certificate.raw) + oldRoot)
  }, 30_000)

  it('a rotation cut short by a crash: finished at start once the new pair is whole, else the old CA stays alone', async () => {
    const { s, files } = await start('')
    const caDir = join(files.dataDir, 'ca')
    const old = { cert: readFileSync(join(caDir, 'ca.pem'), 'utf8'), key: readFileSync(join(caDir, 'ca.key'), 'utf8') }
    await s.server.rotateCa()
    const next = { cert: readFileSync(join(caDir, 'ca.pem'), 'utf8'), key: readFileSync(join(caDir, 'ca.key'), 'utf8') }
    await s.close()
    running = running.filter((r) => r !== s)
    const restart = async () => {
      const r = await startNodeServer(loadConfigFile(files.configPath, {}), { write: () => {} })
      running.push(r)
      return r
    }

    // crashed after the .new files, before the renames (the key may already be renamed)
    writeFileSync(join(caDir, 'ca.pem'), old.cert)
    writeFileSync(join(caDir, 'ca.key'), next.key)
    writeFileSync(join(caDir, 'ca.pem.new'), next.cert)
    const finished = await restart()
    expect(toPem('CERTIFICATE', finished.server.ca.certificate.raw)).toBe(next.cert)
    expect((await bundleOf(finished)).x509.authorities.map((c) => toPem('CERTIFICATE', c.raw))).toEqual([next.cert, old.cert])
    expect(existsSync(join(caDir, 'ca.pem.new'))).toBe(false)
    await finished.close()
    running = running.filter((r) => r !== finished)

    // crashed before the new pair was whole: retired.pem names the current root, cross.pem another key
    writeFileSync(join(caDir, 'ca.pem'), old.cert)
    writeFileSync(join(caDir, 'ca.key'), old.key)
    writeFileSync(join(caDir, 'ca.key.new'), next.key)
    writeFileSync(join(caDir, 'retired.pem'), old.cert)
    const kept = await restart()
    expect(toPem('CERTIFICATE', kept.server.ca.certificate.raw)).toBe(old.cert)
    expect((await bundleOf(kept)).x509.authorities).toHaveLength(1)
    expect(kept.server.ca.crossPem()).toBeUndefined()
    expect(existsSync(join(caDir, 'ca.key.new'))).toBe(false)
    expect((await peerChain(kept.url, old.cert)).authorized).toBe(true)
  }, 30_000)
})
