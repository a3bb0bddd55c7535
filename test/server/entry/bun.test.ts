/**
 * The Bun entry renews its listener certificate without a restart of the process: a server whose
 * certificate lives 6 s (renewed 4 s ahead) logs the renewal, and the next connection to the same
 * port gets a new certificate from the same CA. The test waits for the log line, not for a time.
 */
import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { connect } from 'node:tls'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { writeServerFiles } from '../../e2e/setup.ts'
import { caFetch, spawnServer, type Child } from '../../e2e/spawn-server.ts'

let server: Child | undefined
afterAll(async () => {
  await server?.kill()
})

function leafOf(url: string, ca: string): Promise<X509Certificate> {
  const u = new URL(url)
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port), ca, servername: 'localhost' }, () => {
      resolve(new X509Certificate(s.getPeerCertificate().raw))
      s.end()
    })
    s.on('error', reject)
  })
}

describe('Bun server: listener certificate renewal', () => {
  it('serves a renewed certificate on a new connection, same process, same port', async () => {
    const files = writeServerFiles({ tls: true, extra: 'tlsCertTtl: 6s\ntlsRenewBefore: 4s\n' })
    server = await spawnServer('bun', files.configPath)
    const ca = readFileSync(join(files.dataDir, 'ca', 'ca.pem'), 'utf8')
    const first = await leafOf(server.url, ca)
    const renewals = () => (server!.output().match(/"msg":"Listener certificate renewed"/g) ?? []).length
    await vi.waitFor(() => expect(renewals()).toBeGreaterThanOrEqual(1), { timeout: 20_000, interval: 100 })
    const second = await leafOf(server.url, ca)
    expect(second.serialNumber).not.toBe(first.serialNumber)
    expect(second.verify(new X509Certificate(ca).publicKey)).toBe(true)
    expect((await caFetch(ca)(`${server.url}/readyz`)).status).toBe(200)
    expect(server.proc.exitCode).toBeNull()
  }, 60_000)
})
