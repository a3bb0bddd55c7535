/**
 * Serves the app on Node (@hono/node-server; node:https when TLS is on). Returns the URL it
 * listens on. A renewed listener certificate replaces the secure context in place
 * (setSecureContext, with the same protocol and cipher limits): new connections get it, open ones
 * finish on the old, no restart.
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https'
import type { Server as HttpServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { TLSSocket } from 'node:tls'
import type { Context } from 'hono'
import { serve, type ServerType } from '@hono/node-server'
import type { ServerCa } from '../ca/authority.ts'
import { loadServerPlatform } from '../../runtimes/node/index.ts'
import type { ServerConfig } from '../config.ts'
import { bootstrap, type Bootstrapped, type BootstrapDeps } from './bootstrap.ts'
import { openSqliteWasm } from './sqlite-wasm.ts'
import type { ServerLimits } from '../limits-config.ts'

/**
 * TLS 1.2 and 1.3 only, and on TLS 1.2 only ECDHE suites with AEAD ciphers (forward secrecy);
 * TLS 1.3 suites all have it.
 */
export const TLS_OPTIONS = {
  minVersion: 'TLSv1.2',
  ciphers: [
    'TLS_AES_128_GCM_SHA256',
    'TLS_AES_256_GCM_SHA384',
    'TLS_CHACHA20_POLY1305_SHA256',
    'ECDHE-ECDSA-AES128-GCM-SHA256',
    'ECDHE-ECDSA-AES256-GCM-SHA384',
    'ECDHE-ECDSA-CHACHA20-POLY1305',
    'ECDHE-RSA-AES128-GCM-SHA256',
    'ECDHE-RSA-AES256-GCM-SHA384',
    'ECDHE-RSA-CHACHA20-POLY1305',
  ].join(':'),
  honorCipherOrder: true,
} as const

/** node:http options for the limits (set at creation; the rest are set on the server). */
export function nodeServerOptions(l: ServerLimits) {
  return {
    headersTimeout: l.headersTimeoutMs,
    requestTimeout: l.requestTimeoutMs,
    keepAliveTimeout: l.keepAliveTimeoutMs,
    // how often node:http looks for requests past their headers or request timeout
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(l.headersTimeoutMs / 4))),
    handshakeTimeout: l.handshakeTimeoutMs,
  }
}

/**
 * The limits node:http only takes as server properties (the connection cap, idle timeout,
 * requests per socket), and one it lacks: node:http's headers timeout starts at a request's first
 * byte, and on Node 20 its periodic check also stops the idle timer of a connection that never
 * sent one (measured: a silent socket stayed open past a 25 s idle timeout). So a connection that
 * has sent nothing (not even a TLS hello) when headersTimeout has passed is closed here; the
 * count of bytes read needs no data listener, which would take the bytes from the HTTP parser.
 */
export function applyNodeLimits(server: HttpServer, l: ServerLimits): void {
  server.maxConnections = l.maxConnections
  server.maxRequestsPerSocket = l.maxRequestsPerSocket
  server.setTimeout(l.idleTimeoutMs)
  server.on('connection', (socket: import('node:net').Socket) => {
    const timer = setTimeout(() => {
      if (socket.bytesRead === 0) socket.destroy()
    }, l.headersTimeoutMs)
    timer.unref()
    socket.once('close', () => clearTimeout(timer))
  })
}

/**
 * mTLS for the workload routes: ask for a client certificate issued by the server CA (every root
 * of its bundle, so after a rotation the new root too), and accept none: attestation and the
 * bundle stay open, and routes/workload.ts verifies the certificate itself.
 */
export function clientCertificateRequest(ca: ServerCa) {
  return { requestCert: true, rejectUnauthorized: false, ca: ca.authoritiesPem() } as const
}

export interface RunningServer {
  readonly url: string
  readonly server: Bootstrapped
  /**
   * Stops the listener. With `drainMs`, requests in flight may finish for that long (idle
   * connections close at once) before the rest are cut; without, every connection is cut now.
   */
  close(options?: { drainMs?: number }): Promise<void>
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
    // batched registry writes commit on the driver's writer thread: this one never waits on fsync
    openDatabase: deps.openDatabase ?? ((path, o) => openSqliteWasm(path, { ...o, writerThread: true })),
    ...(deps.write ? { write: deps.write } : {}),
    clientCertificates: deps.clientCertificates ?? nodeClientCertificates,
    ...(deps.role ? { role: deps.role } : {}),
    ...(deps.logFields ? { logFields: deps.logFields } : {}),
    ...(deps.env ? { env: deps.env } : {}),
  })
  const listening = new Promise<ServerType>((resolve, reject) => {
    const s: ServerType = serve(
      {
        fetch: b.app.fetch,
        hostname: config.host,
        port: config.port,
        serverOptions: {
          ...nodeServerOptions(config.limits),
          ...(b.tls ? { ...TLS_OPTIONS, key: b.tls.privateKeyPem, cert: b.tls.certificatePem, ...clientCertificateRequest(b.ca) } : {}),
        },
        ...(b.tls ? { createServer: createHttpsServer } : {}),
      },
      () => resolve(s),
    )
    // a listen that fails (the port taken) is the start's error, not an unhandled event
    s.once('error', reject)
    applyNodeLimits(s as HttpServer, config.limits)
  })
  const server = await listening.catch((e: unknown) => {
    b.close()
    throw e
  })
  // a secure context made from key and cert alone would fall back to Node's default versions and ciphers
  if (b.tls)
    b.onTlsRenewed((t) =>
      (server as HttpsServer).setSecureContext({
        ...TLS_OPTIONS,
        key: t.privateKeyPem,
        cert: t.certificatePem,
        ...clientCertificateRequest(b.ca),
      }),
    )
  const port = (server.address() as AddressInfo).port
  const url = `${b.tls ? 'https' : 'http'}://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`
  b.setListenUrl(url)
  // a worker's listening is one of several: the primary says "Server listening" once all are
  b.logger.info(deps.role === 'worker' ? 'Worker listening' : 'Server listening', { url, trustDomain: config.trustDomain })
  return {
    url,
    server: b,
    close: (options = {}) =>
      new Promise<void>((resolve) => {
        const s = server as { closeAllConnections?: () => void; closeIdleConnections?: () => void }
        let timer: ReturnType<typeof setTimeout> | undefined
        if (options.drainMs === undefined) s.closeAllConnections?.()
        else {
          s.closeIdleConnections?.()
          timer = setTimeout(() => s.closeAllConnections?.(), options.drainMs)
        }
        server.close(() => {
          clearTimeout(timer)
          b.close()
          resolve()
        })
      }),
  }
}
