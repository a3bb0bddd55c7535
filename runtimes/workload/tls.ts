/**
 * node:tls with Workload API identities: a workload presents its current X.509-SVID and accepts a
 * peer only when vouch's verifyX509Svid verifies the peer's chain against the bundle of the peer's
 * own trust domain and the authorizer (matchId, matchOneOf, matchMemberOf from core/svid) allows
 * its SPIFFE ID.
 *
 * Node's TLS has no asynchronous certificate-verification hook, so the checks come in two steps:
 *
 * 1. in the handshake: OpenSSL validates the peer's chain against the X.509 authorities of every
 *    trust domain in the bundle set (`ca`, `requestCert`, `rejectUnauthorized`), and a client also
 *    runs the SVID leaf rules, the trust-domain binding (the chain's anchor must be an authority
 *    of the peer ID's own trust domain) and the authorizer in `checkServerIdentity`; a refused
 *    peer never completes the handshake;
 * 2. after it: {@link verifyTlsPeer} runs vouch's verifyX509Svid on the presented chain with the
 *    authorizer. {@link createTlsServer} and {@link connectTls} do this before they hand out a
 *    socket, and destroy the socket otherwise; with the bare options, call verifyTlsPeer yourself
 *    before reading from the socket.
 *
 * The SVID and bundles are read when a connection starts: the server picks them per handshake
 * (`SNICallback`, and `setSecureContext` on rotation for clients that send no SNI), a client per
 * call of {@link tlsClientOptions}.
 */
import tls from 'node:tls'
import { SpiffeError } from '../../core/errors.ts'
import { toPem } from '../../core/bytes/pem.ts'
import { bytesEqual } from '../../core/bytes/equal.ts'
import type { BundleSet } from '../../core/svid/bundle-set.ts'
import type { X509BundleSource } from '../../core/svid/bundle-source.ts'
import { type SpiffeIdMatcher, matchAny } from '../../core/svid/match.ts'
import { type VerifiedX509Svid, checkX509SvidLeaf, verifyX509Svid } from '../../core/svid/x509-svid.ts'
import { parseCertificate } from '../../core/x509/certificate.ts'
import type { Platform } from '../../core/platform.ts'
import type { WorkloadX509Svid } from './updates.ts'

/** What the TLS helpers read: an X509Source, or anything with the same surface. */
export interface TlsIdentitySource extends X509BundleSource {
  getX509Svid(): WorkloadX509Svid
  readonly bundles: BundleSet
  onUpdate(listener: () => void): () => void
}

export interface TlsHelperOptions {
  readonly platform?: Platform
}

function authoritiesPem(bundles: BundleSet): string[] {
  const out: string[] = []
  for (const b of bundles) for (const c of b.x509Authorities) out.push(toPem('CERTIFICATE', c.raw))
  return out
}

/** The key, chain and trust anchors of the source's current state, for node:tls. */
export function identityContextOptions(source: TlsIdentitySource): tls.SecureContextOptions {
  const svid = source.getX509Svid()
  return {
    key: toPem('PRIVATE KEY', svid.privateKey),
    cert: svid.certificates.map((c) => toPem('CERTIFICATE', c.raw)).join(''),
    ca: authoritiesPem(source.bundles),
  }
}

const contexts = new WeakMap<WorkloadX509Svid, { bundles: BundleSet; context: tls.SecureContext }>()

/** A secure context for the current SVID and bundles, rebuilt only when they change. */
function currentContext(source: TlsIdentitySource): tls.SecureContext {
  const svid = source.getX509Svid()
  const bundles = source.bundles
  const cached = contexts.get(svid)
  if (cached !== undefined && cached.bundles === bundles) return cached.context
  const context = tls.createSecureContext(identityContextOptions(source))
  contexts.set(svid, { bundles, context })
  return context
}

/** The peer's chain as presented (leaf first), from a connected TLS socket. */
export function peerChain(socket: tls.TLSSocket): Uint8Array[] {
  const out: Uint8Array[] = []
  let cert = socket.getPeerCertificate(true) as tls.DetailedPeerCertificate | Record<string, never>
  const seen = new Set<string>()
  while (cert !== undefined && 'raw' in cert && cert.raw !== undefined && out.length < 16) {
    const key = cert.fingerprint256
    if (seen.has(key)) break
    seen.add(key)
    out.push(new Uint8Array(cert.raw))
    cert = cert.issuerCertificate
  }
  return out
}

/**
 * Verifies the peer of a connected socket with vouch: its presented chain through verifyX509Svid
 * against the bundle of its own trust domain, then the authorizer. Rejects with SpiffeError.
 */
export function verifyTlsPeer(
  socket: tls.TLSSocket,
  bundles: X509BundleSource,
  authorizer: SpiffeIdMatcher = matchAny(),
  options: TlsHelperOptions = {},
): Promise<VerifiedX509Svid> {
  return verifyX509Svid(peerChain(socket), bundles, { matcher: authorizer, ...(options.platform ? { platform: options.platform } : {}) })
}

/**
 * The synchronous SVID checks a client can run inside the handshake: the leaf is an X.509-SVID,
 * the chain OpenSSL built ends at an authority of the leaf ID's own trust domain, the authorizer
 * allows the ID. Returns an Error to refuse (the `checkServerIdentity` contract).
 */
function checkPeerInHandshake(cert: tls.PeerCertificate, bundles: X509BundleSource, authorizer: SpiffeIdMatcher): Error | undefined {
  try {
    const leaf = parseCertificate(new Uint8Array(cert.raw))
    const id = checkX509SvidLeaf(leaf)
    const bundle = bundles.getX509Bundle(id.trustDomain)
    if (bundle === undefined) return new SpiffeError('ERR_BUNDLE_NOT_FOUND', `no x509 bundle for trust domain "${id.trustDomain}"`)
    let c = cert as tls.DetailedPeerCertificate | undefined
    let anchored = false
    const seen = new Set<string>()
    while (c?.raw !== undefined && !seen.has(c.fingerprint256)) {
      seen.add(c.fingerprint256)
      const der = new Uint8Array(c.raw)
      if (bundle.authorities.some((a) => bytesEqual(a.raw, der))) anchored = true
      c = c.issuerCertificate
    }
    if (!anchored) {
      return new SpiffeError('ERR_SVID_UNTRUSTED', `the peer chain does not end at an authority of trust domain "${id.trustDomain}"`)
    }
    authorizer(id)
    return undefined
  } catch (e) {
    return e instanceof Error ? e : new Error(String(e))
  }
}

/**
 * Options for `tls.createServer`: present the current SVID (per handshake, through SNICallback),
 * ask for the client's certificate and refuse chains to no bundle authority. A server cannot run
 * the authorizer inside Node's handshake: verify each connection with
 * `verifyTlsPeer(socket, source, authorizer)`, or use {@link createTlsServer}, which does.
 */
export function tlsServerOptions(source: TlsIdentitySource): tls.TlsOptions {
  return {
    ...identityContextOptions(source),
    requestCert: true,
    rejectUnauthorized: true,
    SNICallback: (_servername, cb) => {
      try {
        cb(null, currentContext(source))
      } catch (e) {
        cb(e as Error, undefined)
      }
    },
  }
}

/**
 * Options for one `tls.connect`: present the current SVID, validate the server's chain against the
 * bundle authorities and check its SPIFFE ID in the handshake (the host name is not checked: the
 * SPIFFE ID is the identity). Call it per connection, so a rotated SVID is used.
 */
export function tlsClientOptions(source: TlsIdentitySource, authorizer: SpiffeIdMatcher = matchAny()): tls.ConnectionOptions {
  return {
    secureContext: currentContext(source),
    rejectUnauthorized: true,
    checkServerIdentity: (_host, cert) => checkPeerInHandshake(cert, source, authorizer),
  }
}

export interface VerifiedConnection {
  readonly socket: tls.TLSSocket
  readonly peer: VerifiedX509Svid
}

/**
 * A TLS server that presents the source's SVID (following rotations) and calls `onConnection`
 * only for peers that vouch verified and the authorizer allowed; other sockets are destroyed, and
 * reported to `onRefused`.
 */
export function createTlsServer(
  source: TlsIdentitySource,
  authorizer: SpiffeIdMatcher,
  onConnection: (connection: VerifiedConnection) => void,
  options: TlsHelperOptions & { readonly onRefused?: (error: unknown, socket: tls.TLSSocket) => void; readonly tls?: tls.TlsOptions } = {},
): tls.Server {
  const server = tls.createServer({ ...options.tls, ...tlsServerOptions(source) })
  const unsubscribe = source.onUpdate(() => {
    let options: tls.SecureContextOptions
    try {
      options = identityContextOptions(source)
    } catch {
      // no SVID right now (withdrawn, SPIFFE Workload API §5.5): present nothing, so handshakes fail
      options = {}
    }
    server.setSecureContext(options)
  })
  server.on('close', unsubscribe)
  server.on('secureConnection', (socket) => {
    // no 'data' listener until onConnection: what the peer sends meanwhile stays buffered; a reset
    // during the verification must not become an uncaught 'error'
    const ignore = () => {}
    socket.on('error', ignore)
    verifyTlsPeer(socket, source, authorizer, options).then(
      (peer) => {
        socket.off('error', ignore)
        if (socket.destroyed) return
        onConnection({ socket, peer })
      },
      (e) => {
        options.onRefused?.(e, socket)
        socket.destroy()
      },
    )
  })
  return server
}

/** Connects with {@link tlsClientOptions} and resolves once vouch verified the server. */
export function connectTls(
  source: TlsIdentitySource,
  authorizer: SpiffeIdMatcher,
  connect: tls.ConnectionOptions,
  options: TlsHelperOptions = {},
): Promise<VerifiedConnection> {
  return new Promise((resolve, reject) => {
    let socket: tls.TLSSocket
    try {
      socket = tls.connect({ ...connect, ...tlsClientOptions(source, authorizer) })
    } catch (e) {
      reject(e)
      return
    }
    const onError = (e: Error) => reject(e)
    socket.once('error', onError)
    socket.once('secureConnect', () => {
      verifyTlsPeer(socket, source, authorizer, options).then(
        (peer) => {
          socket.off('error', onError)
          resolve({ socket, peer })
        },
        (e) => {
          socket.destroy()
          reject(e)
        },
      )
    })
  })
}
