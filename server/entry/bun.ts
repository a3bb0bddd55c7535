/**
 * Serves the app on Bun (Bun.serve; bun:sqlite for the registry). Run:
 *   bun server/entry/bun.ts --config FILE
 * Bun's reload() keeps the TLS options it started with, so a renewed listener certificate
 * restarts the listener on the same port: stop(false) lets open requests finish.
 */
import { createBunPlatform } from '../../runtimes/bun/index.ts'
import { loadKernels } from '../../runtimes/node/index.ts'
import { createAttestationCaches } from '../../core/attestation/caches.ts'
import type { ServerConfig } from '../config.ts'
import { bootstrap, loadConfigFile } from './bootstrap.ts'
import { openSqliteBun } from './sqlite-bun.ts'

declare const Bun: {
  serve(o: {
    fetch: (r: Request) => Response | Promise<Response>
    hostname: string
    port: number
    idleTimeout?: number
    tls?: { key: string; cert: string }
  }): {
    port: number
    stop(force?: boolean): void
  }
}

/** limits.idleTimeout in the whole seconds Bun.serve takes (1..255). */
export function bunIdleTimeoutSeconds(ms: number): number {
  return Math.min(255, Math.max(1, Math.ceil(ms / 1000)))
}

export async function startBunServer(config: ServerConfig): Promise<{ url: string; stop(): void }> {
  // WASM kernels and the bounded attestation caches, as on Node (runtimes/node loadServerPlatform)
  const platform = createBunPlatform({ kernels: await loadKernels(), ...createAttestationCaches() })
  const b = await bootstrap(config, { platform, openDatabase: openSqliteBun })
  // one set of options for the first listener and every restart after a certificate renewal, so a
  // renewed listener keeps the limits (Bun.serve takes the idle timeout in whole seconds, at most
  // 255; it has no connection cap or header timeout of its own: docs/protocol.md "Limits", the
  // per-address rate limit applies on Bun as on Node)
  const serveOptions = (port: number, tls: { privateKeyPem: string; certificatePem: string } | undefined) => ({
    fetch: b.app.fetch,
    hostname: config.host,
    port,
    idleTimeout: bunIdleTimeoutSeconds(config.limits.idleTimeoutMs),
    ...(tls ? { tls: { key: tls.privateKeyPem, cert: tls.certificatePem } } : {}),
  })
  let server = Bun.serve(serveOptions(config.port, b.tls))
  const port = server.port
  b.onTlsRenewed((t) => {
    server.stop(false)
    server = Bun.serve(serveOptions(port, t))
  })
  const url = `${b.tls ? 'https' : 'http'}://${config.host}:${server.port}`
  b.logger.info('Server listening', { url, trustDomain: config.trustDomain })
  return {
    url,
    stop: () => {
      server.stop(true)
      b.close()
    },
  }
}

if ((import.meta as { main?: boolean }).main) {
  const i = process.argv.indexOf('--config')
  if (i < 0 || !process.argv[i + 1]) {
    console.error('usage: bun server/entry/bun.ts --config FILE')
    process.exit(2)
  }
  const { url } = await startBunServer(loadConfigFile(process.argv[i + 1]!))
  console.log(url)
}
