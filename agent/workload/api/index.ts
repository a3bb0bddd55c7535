/**
 * The agent socket: the SPIFFE Workload API and Envoy SDS, gRPC over HTTP/2 cleartext on one unix
 * socket (default /run/vouch/agent.sock; workloads find it as SPIFFE_ENDPOINT_SOCKET=unix://...).
 *
 * - The socket is world-connectable (mode 0777 by default, as the SPIRE agent's) and its directory is
 *   created 0755: who may connect is not what authorizes; every call is authorized by the caller's
 *   peer credentials (SO_PEERCRED via the peer-credential addon) against the registration entries.
 *   Without the addon the API refuses to start (`ERR_WORKLOAD_API_NATIVE_MISSING`): it never serves
 *   unattested callers.
 * - A stale socket file (nobody accepts on it) is removed; a live one (another agent serves it) or a
 *   non-socket file at the path is an error.
 * - Bounds: connections (`maxConnections`, and `maxConnectionsPerUid` so that one local user cannot
 *   take them all), concurrent calls per connection
 *   (`maxStreamsPerConnection`), request message size (`maxMessageBytes`), unsent bytes per stream
 *   (`maxBufferedBytes`), time: a connection with no open call (`idleTimeoutMs`), a call that has not
 *   sent its request (`requestTimeoutMs`).
 * - The socket's directory must be the agent's own (owned by its uid or root, writable by nobody
 *   else), and no directory above it writable by others without the sticky bit: else another user
 *   could take the socket path.
 */
import { connect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net'
import { setMaxListeners } from 'node:events'
import { chmod, lstat, mkdir, realpath, stat, unlink } from 'node:fs/promises'
import { createServer as createH2Server, type Http2Session, type ServerHttp2Stream } from 'node:http2'
import { dirname } from 'node:path'
import { WorkloadApiError } from '../../../core/errors.ts'
import { encodeGrpcMessage, GrpcStatus } from '../../../core/workload/index.ts'
import type { Logger } from '../../log.ts'
import type { WorkloadIdentitySource } from '../source.ts'
import { CallerAttestor, type Peer } from './attest.ts'
import { BundleViews } from './bundles.ts'
import { type GrpcHandler, serveGrpcStream } from './grpc.ts'
import { loadPeerCredAddon, PEERCRED_ADDON_PATH, peerCredUnavailableReason } from './peercred.ts'
import { sdsHandlers } from './sds.ts'
import { type ServiceContext, workloadApiHandlers } from './workload.ts'

export const DEFAULT_SOCKET_PATH = '/run/vouch/agent.sock'
/** world-connectable: authorization is by peer credentials, per call */
export const DEFAULT_SOCKET_MODE = 0o777
export const DEFAULT_MAX_CONNECTIONS = 1024
/** so that one local user cannot take every connection from the others */
export const DEFAULT_MAX_CONNECTIONS_PER_UID = 256
export const DEFAULT_MAX_STREAMS_PER_CONNECTION = 32
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024
export const DEFAULT_MAX_BUFFERED_BYTES = 4 * 1024 * 1024
/** a connection with no open call is closed after this long */
export const DEFAULT_IDLE_TIMEOUT_MS = 60_000
/** a call must send its request message (or half-close) within this long */
export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000

export interface WorkloadApiOptions {
  readonly source: WorkloadIdentitySource
  /** default {@link DEFAULT_SOCKET_PATH} */
  readonly socketPath?: string
  readonly logger?: Logger
  /** default {@link DEFAULT_SOCKET_MODE} (0777) */
  readonly socketMode?: number
  readonly maxConnections?: number
  readonly maxConnectionsPerUid?: number
  readonly maxStreamsPerConnection?: number
  readonly maxMessageBytes?: number
  readonly maxBufferedBytes?: number
  /** bound of an executable hashed for `unix:sha256:` selectors (default 512 MiB) */
  readonly maxExecutableBytes?: number
  /** how long a `unix:sha256:` match waits for the executable's digest (default 5 s); past it the selector does not match */
  readonly executableDigestTimeoutMs?: number
  /** a connection with no open call is closed after this long (default {@link DEFAULT_IDLE_TIMEOUT_MS}) */
  readonly idleTimeoutMs?: number
  /** a call that has not sent its request message by then ends with ResourceExhausted (default {@link DEFAULT_REQUEST_TIMEOUT_MS}) */
  readonly requestTimeoutMs?: number
  /** the peer-credential addon (default: agent/native/build/Release/vouch_peercred.node) */
  readonly peerCredAddonPath?: string
}

export interface WorkloadApi {
  readonly socketPath: string
  /** open connections now */
  connections(): number
  /** stops accepting, ends open calls with Unavailable, closes connections and removes the socket */
  close(): Promise<void>
}

const PEER = Symbol('vouch.workload.peer')

/** Removes a stale socket at `path`; refuses a live one or a file that is not a socket. */
async function clearSocketPath(path: string): Promise<void> {
  const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined
    throw err
  })
  if (!st) return
  if (!st.isSocket()) throw new Error(`workload api: ${path} exists and is not a socket; refusing to replace it`)
  const live = await new Promise<boolean>((resolve) => {
    const c = connect(path)
    c.once('connect', () => {
      c.destroy()
      resolve(true)
    })
    c.once('error', () => resolve(false))
  })
  if (live) throw new Error(`workload api: another process serves ${path}`)
  await unlink(path)
}

/** Creates the socket's directory and any missing parent 0755, whatever the umask (so workloads of every user can reach the socket). */
async function makeSocketDirectory(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: 0o755 })
  if (first === undefined) return
  for (let d = dir; ; d = dirname(d)) {
    await chmod(d, 0o755)
    if (d === first || d === dirname(d)) break
  }
}

/**
 * Refuses a socket directory another user could take the socket path in: the directory itself must
 * be owned by the agent's uid or root and writable by nobody else (a sticky world-writable directory
 * such as /tmp is refused too: another user could bind the path first), and every directory above it
 * must be owned by the agent's uid or root and, when group or others may write it, sticky (else they
 * could rename the socket's directory away and put their own in its place).
 */
export async function checkSocketDirectory(dir: string, uid = process.geteuid?.() ?? 0): Promise<void> {
  const real = await realpath(dir)
  for (let d = real, own = true; ; d = dirname(d), own = false) {
    const st = await stat(d)
    const where = own ? 'the socket directory' : 'a directory above the socket'
    if (st.uid !== uid && st.uid !== 0) {
      throw new Error(`workload api: ${where} ${d} is owned by uid ${st.uid}, not the agent (uid ${uid}) or root; refusing to serve there`)
    }
    const othersWrite = (st.mode & 0o022) !== 0
    if (othersWrite && (own || (st.mode & 0o1000) === 0)) {
      throw new Error(
        `workload api: ${where} ${d} (mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}) is writable by other users; another user could take the socket path (use a directory only the agent may write, such as /run/vouch)`,
      )
    }
    if (d === dirname(d)) break
  }
}

/** Starts the Workload API and SDS on a unix socket. */
export async function startWorkloadApi(options: WorkloadApiOptions): Promise<WorkloadApi> {
  const socketPath = options.socketPath ?? DEFAULT_SOCKET_PATH
  const logger = options.logger
  const addonPath = options.peerCredAddonPath ?? PEERCRED_ADDON_PATH
  const addon = loadPeerCredAddon(addonPath)
  if (!addon) {
    throw new WorkloadApiError(
      'ERR_WORKLOAD_API_NATIVE_MISSING',
      `the Workload API needs the caller's peer credentials and cannot start: ${peerCredUnavailableReason(addonPath)}`,
    )
  }
  await makeSocketDirectory(dirname(socketPath))
  await checkSocketDirectory(dirname(socketPath))
  const maxStreams = options.maxStreamsPerConnection ?? DEFAULT_MAX_STREAMS_PER_CONNECTION
  const streamOptions = {
    maxMessageBytes: options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
    maxBufferedBytes: options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES,
    requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
    ...(logger ? { logger } : {}),
  }
  const attestor = new CallerAttestor({
    addon,
    ...(logger ? { logger } : {}),
    ...(options.maxExecutableBytes !== undefined ? { maxExecutableBytes: options.maxExecutableBytes } : {}),
    ...(options.executableDigestTimeoutMs !== undefined ? { executableDigestTimeoutMs: options.executableDigestTimeoutMs } : {}),
  })
  const idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS

  // bundle views are rebuilt lazily after a bundle change
  let views: BundleViews | undefined
  const unsubscribe = options.source.onChange((change) => {
    if (change === 'bundles') views = undefined
  })
  const ctx: ServiceContext = {
    source: options.source,
    attestor,
    ...(logger ? { logger } : {}),
    views: () => (views ??= new BundleViews(options.source.bundles())),
  }
  const handlers = new Map<string, GrpcHandler<Peer>>([...workloadApiHandlers(ctx), ...sdsHandlers(ctx)])

  const stop = new AbortController()
  // every open call listens for the stop: as many as connections x streams, all bounded
  setMaxListeners(0, stop.signal)
  const sessions = new Set<Http2Session>()
  const sockets = new Set<Socket>()
  const perUid = new Map<number, number>()
  const maxPerUid = options.maxConnectionsPerUid ?? DEFAULT_MAX_CONNECTIONS_PER_UID
  const h2 = createH2Server({ settings: { maxConcurrentStreams: maxStreams }, maxSessionMemory: 16 })
  h2.on('session', (session) => {
    sessions.add(session)
    // a connection with no open call (from its start, or since its last call ended) is closed
    // after idleTimeoutMs: idle connections must not hold the connection slots
    let open = 0
    let idle: NodeJS.Timeout | undefined
    const arm = () => {
      idle = setTimeout(() => {
        logger?.log('info', 'workload api: idle connection closed', { idleTimeoutMs })
        session.destroy()
      }, idleTimeoutMs)
    }
    arm()
    session.on('stream', (stream: ServerHttp2Stream) => {
      open++
      clearTimeout(idle)
      stream.once('close', () => {
        if (--open === 0 && !session.destroyed) arm()
      })
    })
    session.once('close', () => {
      clearTimeout(idle)
      sessions.delete(session)
    })
    session.on('error', () => {})
  })
  h2.on('stream', (stream: ServerHttp2Stream, headers) => {
    const refuse = (status: number, message: string) => {
      try {
        stream.respond(
          { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': String(status), 'grpc-message': encodeGrpcMessage(message) },
          { endStream: true },
        )
      } catch {
        stream.close()
      }
    }
    stream.on('error', () => {})
    const peer = (stream.session?.socket as unknown as Record<symbol, Peer | undefined> | undefined)?.[PEER]
    if (!peer) return refuse(GrpcStatus.PERMISSION_DENIED, 'ERR_WORKLOAD_API_CALLER_UNVERIFIED: the connection has no attested peer')
    if (headers[':method'] !== 'POST') {
      stream.respond({ ':status': 405 }, { endStream: true })
      return
    }
    const ct = headers['content-type']
    if (
      typeof ct !== 'string' ||
      !(ct === 'application/grpc' || ct.startsWith('application/grpc+') || ct.startsWith('application/grpc;'))
    ) {
      stream.respond({ ':status': 415 }, { endStream: true })
      return
    }
    const handler = handlers.get(String(headers[':path'] ?? ''))
    if (!handler) {
      return refuse(
        GrpcStatus.UNIMPLEMENTED,
        `ERR_WORKLOAD_API_METHOD_UNKNOWN: no method ${JSON.stringify(String(headers[':path'] ?? '').slice(0, 200))} on the agent socket`,
      )
    }
    serveGrpcStream(stream, headers, peer, handler, streamOptions, stop.signal)
  })

  const server: NetServer = createNetServer((socket) => {
    if (stop.signal.aborted) {
      socket.destroy()
      return
    }
    let peer: Peer
    try {
      peer = attestor.peer(socket)
    } catch (err) {
      logger?.log('warn', 'workload api: connection refused, no peer credentials', { error: (err as Error).message })
      socket.destroy()
      return
    }
    const uid = peer.credentials.uid
    const held = perUid.get(uid) ?? 0
    if (held >= maxPerUid) {
      logger?.log('warn', 'workload api: connection refused, too many connections from this uid', { uid, max: maxPerUid })
      peer.close()
      socket.destroy()
      return
    }
    perUid.set(uid, held + 1)
    sockets.add(socket)
    socket.once('close', () => {
      sockets.delete(socket)
      const n = (perUid.get(uid) ?? 1) - 1
      if (n > 0) perUid.set(uid, n)
      else perUid.delete(uid)
      peer.close()
    })
    socket.on('error', () => {})
    ;(socket as unknown as Record<symbol, Peer>)[PEER] = peer
    h2.emit('connection', socket)
  })
  server.maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS

  await clearSocketPath(socketPath)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(socketPath, () => {
      server.off('error', reject)
      resolve()
    })
  })
  await chmod(socketPath, options.socketMode ?? DEFAULT_SOCKET_MODE)
  logger?.log('info', 'workload api: listening', { socket: socketPath, mode: (options.socketMode ?? DEFAULT_SOCKET_MODE).toString(8) })

  let closing: Promise<void> | undefined
  return {
    socketPath,
    connections: () => sockets.size,
    close() {
      closing ??= (async () => {
        unsubscribe()
        stop.abort()
        const closed = new Promise<void>((resolve) => server.close(() => resolve()))
        // let the Unavailable trailers go out, then drop what is left
        for (const s of sessions) s.close()
        await new Promise((r) => setTimeout(r, 50))
        for (const s of sessions) s.destroy()
        for (const s of sockets) s.destroy()
        await closed
        await unlink(socketPath).catch(() => {})
      })()
      return closing
    },
  }
}

export { CallerAttestor, type Peer } from './attest.ts'
export { PEERCRED_ADDON_PATH } from './peercred.ts'
