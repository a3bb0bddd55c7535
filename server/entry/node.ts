/**
 * Serves the app on Node (@hono/node-server; node:https when TLS is on). Returns the URL it
 * listens on. A renewed listener certificate replaces the secure context in place
 * (setSecureContext): new connections get it, open ones finish on the old, no restart.
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { AddressInfo } from 'node:net'
import { serve, type ServerType } from '@hono/node-server'
import { loadServerPlatform } from '../../runtimes/node/index.ts'
import type { ServerConfig } from '../config.ts'
import { bootstrap, type Bootstrapped, type BootstrapDeps } from './bootstrap.ts'
import { openSqliteWasm } from './sqlite-wasm.ts'

export interface RunningServer {
  readonly url: string
  readonly server: Bootstrapped
  close(): Promise<void>
}

export async function startNodeServer(config: ServerConfig, deps: Partial<BootstrapDeps> = {}): Promise<RunningServer> {
  const b = await bootstrap(config, {
    platform: deps.platform ?? (await loadServerPlatform()),
    openDatabase: deps.openDatabase ?? openSqliteWasm,
    ...(deps.write ? { write: deps.write } : {}),
  })
  const listening = new Promise<ServerType>((resolve) => {
    const s: ServerType = serve(
      {
        fetch: b.app.fetch,
        hostname: config.host,
        port: config.port,
        ...(b.tls ? { createServer: createHttpsServer, serverOptions: { key: b.tls.privateKeyPem, cert: b.tls.certificatePem } } : {}),
      },
      () => resolve(s),
    )
  })
  const server = await listening
  if (b.tls) b.onTlsRenewed((t) => (server as HttpsServer).setSecureContext({ key: t.privateKeyPem, cert: t.certificatePem }))
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
