/** Serves the app on Node (@hono/node-server; node:https when TLS is on). Returns the URL it listens on. */
import { createServer as createHttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { Context } from 'hono'
import { serve, type ServerType } from '@hono/node-server'
import { toPem } from '../../core/bytes/pem.ts'
import { loadServerPlatform } from '../../runtimes/node/index.ts'
import type { ServerConfig } from '../config.ts'
import { bootstrap, type Bootstrapped, type BootstrapDeps } from './bootstrap.ts'
import { openSqliteWasm } from './sqlite-wasm.ts'

export interface RunningServer {
  readonly url: string
  readonly server: Bootstrapped
  close(): Promise<void>
}

/**
 * The request's client certificate (DER), from the TLS socket @hono/node-server puts in
 * `c.env.incoming`. Only the leaf: the server CA issues agent SVIDs directly from its root, and the
 * workload routes verify it against the bundle themselves (the listener asks for a certificate but
 * does not require one, so attestation and the bundle stay open to clients without one).
 */
export function nodeClientCertificates(c: Context): Uint8Array[] | undefined {
  const socket = (c.env as { incoming?: { socket?: Partial<TLSSocket> } } | undefined)?.incoming?.socket
  if (typeof socket?.getPeerCertificate !== 'function') return undefined
  const peer = socket.getPeerCertificate(false)
  if (!peer?.raw || peer.raw.length === 0) return undefined
  return [new Uint8Array(peer.raw)]
}

export async function startNodeServer(config: ServerConfig, deps: Partial<BootstrapDeps> = {}): Promise<RunningServer> {
  const b = await bootstrap(config, {
    platform: deps.platform ?? (await loadServerPlatform()),
    openDatabase: deps.openDatabase ?? openSqliteWasm,
    ...(deps.write ? { write: deps.write } : {}),
    clientCertificates: deps.clientCertificates ?? nodeClientCertificates,
  })
  const listening = new Promise<ServerType>((resolve) => {
    const s: ServerType = serve(
      {
        fetch: b.app.fetch,
        hostname: config.host,
        port: config.port,
        ...(b.tls
          ? {
              createServer: createHttpsServer,
              serverOptions: {
                key: b.tls.privateKeyPem,
                cert: b.tls.certificatePem,
                // mTLS for the workload routes: ask for a client certificate issued by the server CA, accept none
                requestCert: true,
                rejectUnauthorized: false,
                ca: toPem('CERTIFICATE', b.ca.certificate.raw),
              },
            }
          : {}),
      },
      () => resolve(s),
    )
  })
  const server = await listening
  const port = (server.address() as AddressInfo).port
  const url = `${b.tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
  b.logger.info('Server listening', { url, trustDomain: config.trustDomain })
  return {
    url,
    server: b,
    close: () =>
      new Promise<void>((resolve) => {
        ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
        server.close(() => {
          b.close()
          resolve()
        })
      }),
  }
}
