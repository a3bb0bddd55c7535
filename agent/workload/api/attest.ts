/**
 * Workload attestation from the caller's socket peer credentials (Linux).
 *
 * - At accept, {@link CallerAttestor.peer} reads SO_PEERCRED (pid, uid, gid as the kernel recorded
 *   them at connect()) through the peer-credential addon and takes a pidfd for that pid
 *   (SO_PEERPIDFD, else pidfd_open).
 * - At every call, {@link CallerAttestor.attest} reads /proc/<pid>/status (effective uid and gid,
 *   supplementary groups) and, only when an entry still in the running needs them, the executable's
 *   path (/proc/<pid>/exe) and its SHA-256 (of the file the process runs, opened through
 *   /proc/<pid>/exe, bounded, cached by device/inode/size/mtime/ctime). An entry matches when every one
 *   of its selectors matches; an entry without selectors matches nothing.
 * - Pid reuse: every /proc read names the process by pid, so after the reads the pidfd must still
 *   say "running" (a process that has not exited keeps its pid, so the reads were of it) and the
 *   effective uid/gid in /proc must equal SO_PEERCRED's. With SO_PEERPIDFD (Linux >= 6.5) the pidfd is
 *   the connecting process itself and no race is left. With pidfd_open (Linux >= 5.3) the pidfd is
 *   taken at accept: if the caller exited between connect() and accept() and its pid went to a new
 *   process, that process must also have the caller's uid and gid. Without either, the process start
 *   time read at accept must be unchanged (what SPIRE checks). A caller that exits, or changes its
 *   uid/gid after connecting, gets PermissionDenied; it reconnects as what it is now.
 */
import { createHash } from 'node:crypto'
import { readlinkSync } from 'node:fs'
import { open, readFile, readlink } from 'node:fs/promises'
import type { Socket } from 'node:net'
import { WorkloadApiError } from '../../../core/errors.ts'
import type { Logger } from '../../log.ts'
import type { WorkloadX509Svid } from '../source.ts'
import type { PeerCredAddon, PeerCredentials } from './peercred.ts'

/** The default bound of an executable hashed for `unix:sha256:` (SPIRE's workload_size_limit, as a bound). */
export const DEFAULT_MAX_EXECUTABLE_BYTES = 512 * 1024 * 1024
const DIGEST_CACHE_ENTRIES = 1024
/** How long a `unix:sha256:` match may wait for the executable's digest (queue and read); past it the selector does not match. */
export const DEFAULT_EXECUTABLE_DIGEST_TIMEOUT_MS = 5_000
/** Digests waiting for the one hash in flight; more are not computed (their selector does not match). */
export const MAX_QUEUED_EXECUTABLE_DIGESTS = 64

/**
 * Reads the digest of the executable of `pid` (the default opens /proc/<pid>/exe and hashes it).
 * `signal` aborts when the caller stopped waiting: a reader should stop reading then.
 */
export type ExecutableDigestReader = (pid: number, signal: AbortSignal) => Promise<string | undefined>

/** One connection's caller, as the kernel recorded it; {@link close} when the connection closes. */
export interface Peer {
  readonly credentials: PeerCredentials
  /** /proc/<pid>/stat start time read at accept (the check when no pidfd is available) */
  readonly startTime: Promise<string | undefined>
  /** readlink /proc/<pid>/exe at accept: a caller that exec()s another program afterwards is refused */
  readonly exe?: string | undefined
  close(): void
}

/** What the caller is now (after {@link CallerAttestor.attest}); for logs. */
export interface Caller {
  readonly pid: number
  readonly uid: number
  readonly gid: number
  readonly groups: readonly number[]
}

/** The caller as read from /proc, with its executable's path and digest read on first use. */
export interface CallerFacts {
  readonly caller: Caller
  /** the effective gid and the supplementary groups, as decimal strings */
  readonly gids: ReadonlySet<string>
  path(): Promise<string | undefined>
  digest(): Promise<string | undefined>
}

export interface AttestResult {
  readonly caller: Caller
  /** the SVIDs whose entry matches the caller, in the source's order */
  readonly svids: readonly WorkloadX509Svid[]
}

export interface CallerAttestorOptions {
  readonly addon: PeerCredAddon
  readonly logger?: Logger
  /** /proc (tests may not change it on a real system; it exists for other mount layouts) */
  readonly procRoot?: string
  readonly maxExecutableBytes?: number
  /** default {@link DEFAULT_EXECUTABLE_DIGEST_TIMEOUT_MS} */
  readonly executableDigestTimeoutMs?: number
  /** replaces the hash of /proc/<pid>/exe (tests inject a slow reader) */
  readonly readExecutableDigest?: ExecutableDigestReader
}

/** `unix:<kind>:<value>`; anything else is a selector no caller has. */
interface Selector {
  readonly kind: 'uid' | 'gid' | 'path' | 'sha256'
  readonly value: string
}

export function parseSelector(s: string): Selector | undefined {
  if (!s.startsWith('unix:')) return undefined
  const rest = s.slice(5)
  const i = rest.indexOf(':')
  if (i < 0) return undefined
  const kind = rest.slice(0, i)
  const value = rest.slice(i + 1)
  if (kind !== 'uid' && kind !== 'gid' && kind !== 'path' && kind !== 'sha256') return undefined
  if ((kind === 'uid' || kind === 'gid') && !/^(0|[1-9]\d{0,9})$/.test(value)) return undefined
  return { kind, value }
}

/** The `Uid:` / `Gid:` (real, effective, saved, filesystem) and `Groups:` lines of /proc/<pid>/status. */
export function parseProcStatus(text: string): { uid: number; gid: number; groups: number[] } | undefined {
  let uid: number | undefined
  let gid: number | undefined
  let groups: number[] = []
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':')
    if (colon < 0) continue
    const key = line.slice(0, colon)
    if (key !== 'Uid' && key !== 'Gid' && key !== 'Groups') continue
    const ids = line
      .slice(colon + 1)
      .trim()
      .split(/\s+/)
      .filter((v) => v !== '')
    if (!ids.every((v) => /^\d{1,10}$/.test(v))) return undefined
    const nums = ids.map(Number)
    if (key === 'Groups') groups = nums
    else if (nums.length < 2) return undefined
    else if (key === 'Uid') uid = nums[1]
    else gid = nums[1]
  }
  return uid === undefined || gid === undefined ? undefined : { uid, gid, groups }
}

/** Field 22 (starttime) of /proc/<pid>/stat; the command name in parentheses may hold anything. */
export function parseStartTime(stat: string): string | undefined {
  const close = stat.lastIndexOf(')')
  if (close < 0) return undefined
  const fields = stat.slice(close + 2).split(' ')
  // fields[0] is field 3 (state): starttime is field 22
  const v = fields[19]
  return v !== undefined && /^\d+$/.test(v) ? v : undefined
}

function denied(message: string, detail: Record<string, number | string> = {}): WorkloadApiError {
  return new WorkloadApiError('ERR_WORKLOAD_API_CALLER_UNVERIFIED', message, { detail })
}

/** The socket's file descriptor (Node keeps it on the libuv handle of an accepted unix socket). */
export function socketFd(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd
  return typeof fd === 'number' && fd >= 0 ? fd : undefined
}

export class CallerAttestor {
  private readonly addon: PeerCredAddon
  private readonly logger: Logger | undefined
  private readonly proc: string
  private readonly maxExecutableBytes: number
  private readonly digests = new Map<string, string>()
  private readonly digestTimeoutMs: number
  private readonly readDigest: ExecutableDigestReader
  /** the one executable hash in flight (settles when the read itself ends, not at the deadline) */
  private digestInFlight = false
  private readonly digestQueue: (() => void)[] = []

  constructor(options: CallerAttestorOptions) {
    this.addon = options.addon
    this.logger = options.logger
    this.proc = options.procRoot ?? '/proc'
    this.maxExecutableBytes = options.maxExecutableBytes ?? DEFAULT_MAX_EXECUTABLE_BYTES
    this.digestTimeoutMs = options.executableDigestTimeoutMs ?? DEFAULT_EXECUTABLE_DIGEST_TIMEOUT_MS
    this.readDigest = options.readExecutableDigest ?? ((pid, signal) => this.readExeDigest(pid, signal))
  }

  /**
   * The peer of an accepted connection, read at once (synchronously, so nothing runs between accept
   * and SO_PEERCRED); throws `ERR_WORKLOAD_API_CALLER_UNVERIFIED` when it cannot be known.
   */
  peer(socket: Socket): Peer {
    const fd = socketFd(socket)
    if (fd === undefined) throw denied('the connection has no file descriptor to read peer credentials from')
    let credentials: PeerCredentials
    try {
      credentials = this.addon.peerCredentials(fd)
    } catch (err) {
      throw denied(`cannot read the caller's peer credentials: ${(err as Error).message}`)
    }
    const startTime =
      credentials.pidfd < 0
        ? readFile(`${this.proc}/${credentials.pid}/stat`, 'latin1').then(parseStartTime, () => undefined)
        : Promise.resolve(undefined)
    // what the caller runs now, synchronously (a readlink on /proc touches no other file system):
    // unix:path and unix:sha256 read /proc/<pid>/exe later, and a caller that connected and then
    // exec()s a program it wants the entry of, handing the connection to a child, must not pass
    let exe: string | undefined
    try {
      exe = readlinkSync(`${this.proc}/${credentials.pid}/exe`)
    } catch {
      exe = undefined
    }
    let closed = false
    return {
      credentials,
      startTime,
      exe,
      close: () => {
        if (closed) return
        closed = true
        if (credentials.pidfd >= 0) this.addon.closeFd(credentials.pidfd)
      },
    }
  }

  /**
   * What the caller of `peer` is now: /proc/<pid>/status read and cross-checked against SO_PEERCRED;
   * the executable's path and digest are read on first use and kept. A stream takes these facts once
   * at its start (as the SPIRE agent computes a stream's selectors once) and matches them again after
   * every change with {@link match}.
   */
  async facts(peer: Peer): Promise<CallerFacts> {
    const { pid } = peer.credentials
    await this.checkSameProcess(peer)
    const status = await this.readStatus(peer)
    let exePath: Promise<string | undefined> | undefined
    let exeDigest: Promise<string | undefined> | undefined
    return {
      caller: { pid, uid: status.uid, gid: status.gid, groups: status.groups },
      gids: new Set([status.gid, ...status.groups].map(String)),
      path: () => (exePath ??= this.readExePath(pid)),
      digest: () => (exeDigest ??= this.boundedExeDigest(pid)),
    }
  }

  /** The SVIDs whose entry `facts` match; the caller must still be the process that connected. */
  async match(peer: Peer, facts: CallerFacts, svids: readonly WorkloadX509Svid[]): Promise<AttestResult> {
    const matched: WorkloadX509Svid[] = []
    for (const svid of svids) {
      if (await this.matches(svid.entry.selectors, facts)) matched.push(svid)
    }
    // a stream matches again with the facts of its start: the caller must still run as it did
    // then (a process that dropped from root to nobody gets no more of root's SVIDs)
    const status = await this.readStatus(peer)
    const { caller } = facts
    if (status.groups.length !== caller.groups.length || status.groups.some((g, i) => g !== caller.groups[i])) {
      throw denied(`the calling process (pid ${caller.pid}) changed its groups since it was attested; reconnect`, { pid: caller.pid })
    }
    // the /proc reads were of the caller only if it is still the process that connected
    await this.checkSameProcess(peer)
    return { caller: facts.caller, svids: matched }
  }

  /** /proc/<pid>/status, whose effective uid and gid must still be SO_PEERCRED's. */
  private async readStatus(peer: Peer): Promise<{ uid: number; gid: number; groups: number[] }> {
    const { pid } = peer.credentials
    const statusText = await readFile(`${this.proc}/${pid}/status`, 'latin1').catch(() => undefined)
    const status = statusText === undefined ? undefined : parseProcStatus(statusText)
    if (!status) throw denied(`the calling process (pid ${pid}) exited or its /proc status is unreadable`, { pid })
    if (status.uid !== peer.credentials.uid || status.gid !== peer.credentials.gid) {
      throw denied(
        `the calling process (pid ${pid}) now runs as uid ${status.uid} gid ${status.gid}, not the uid ${peer.credentials.uid} gid ${peer.credentials.gid} it connected with; reconnect`,
        { pid },
      )
    }
    return status
  }

  /** {@link facts} then {@link match}: the SVIDs whose entry matches the caller of `peer`, read now. */
  async attest(peer: Peer, svids: readonly WorkloadX509Svid[]): Promise<AttestResult> {
    return this.match(peer, await this.facts(peer), svids)
  }

  private async matches(selectors: readonly string[], facts: CallerFacts): Promise<boolean> {
    if (selectors.length === 0) return false
    const parsed = selectors.map(parseSelector)
    if (parsed.some((s) => s === undefined)) return false
    const all = parsed as Selector[]
    // cheap ones first, so an entry another uid holds never costs a hash
    for (const s of all) {
      if (s.kind === 'uid' && s.value !== String(facts.caller.uid)) return false
      if (s.kind === 'gid' && !facts.gids.has(s.value)) return false
    }
    for (const s of all) if (s.kind === 'path' && (await facts.path()) !== s.value) return false
    for (const s of all) if (s.kind === 'sha256' && (await facts.digest()) !== s.value) return false
    return true
  }

  private async checkSameProcess(peer: Peer): Promise<void> {
    const { pid, pidfd } = peer.credentials
    if (pidfd >= 0) {
      let exited: boolean
      try {
        exited = this.addon.pidfdExited(pidfd)
      } catch (err) {
        throw denied(`cannot poll the caller's pidfd: ${(err as Error).message}`, { pid })
      }
      if (exited) throw denied(`the calling process (pid ${pid}) exited before it was attested`, { pid })
      await this.checkSameProgram(peer)
      return
    }
    const now = await readFile(`${this.proc}/${pid}/stat`, 'latin1').then(parseStartTime, () => undefined)
    const then = await peer.startTime
    if (then === undefined || now !== then) {
      throw denied(`the calling process (pid ${pid}) exited before it was attested`, { pid })
    }
    await this.checkSameProgram(peer)
  }

  /** The caller still runs the program it ran when it connected (no exec since). */
  private async checkSameProgram(peer: Peer): Promise<void> {
    if (!('exe' in peer)) return
    const { pid } = peer.credentials
    const now = await readlink(`${this.proc}/${pid}/exe`).catch(() => undefined)
    if (now !== peer.exe) {
      throw denied(`the calling process (pid ${pid}) runs another program than when it connected; reconnect`, { pid })
    }
  }

  private async readExePath(pid: number): Promise<string | undefined> {
    try {
      return await readlink(`${this.proc}/${pid}/exe`)
    } catch (err) {
      this.logger?.log('warn', 'workload api: cannot read the caller executable path', { pid, error: (err as Error).message })
      return undefined
    }
  }

  /**
   * The executable's digest with at most one hash in flight (a program on a stalled FUSE or NFS mount
   * holds one libuv threadpool thread, never all of them), a bounded queue behind it, and a deadline
   * for queue and read together: past it, or with the queue full, the digest is undefined (a
   * `unix:sha256:` selector does not match) and it is logged. A read past its deadline keeps its slot
   * until it ends.
   */
  private boundedExeDigest(pid: number): Promise<string | undefined> {
    if (this.digestInFlight && this.digestQueue.length >= MAX_QUEUED_EXECUTABLE_DIGESTS) {
      this.logger?.log('warn', 'workload api: too many caller executables waiting to be hashed; unix:sha256 does not match', {
        pid,
        queued: this.digestQueue.length,
      })
      return Promise.resolve(undefined)
    }
    return new Promise((resolve) => {
      const stopped = new AbortController()
      let settled = false
      const settle = (v: string | undefined) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        resolve(v)
      }
      const start = () => {
        if (settled) return this.releaseDigestSlot()
        let read: Promise<string | undefined>
        try {
          read = this.readDigest(pid, stopped.signal)
        } catch {
          read = Promise.resolve(undefined)
        }
        read.then(settle, () => settle(undefined)).finally(() => this.releaseDigestSlot())
      }
      const timer = setTimeout(() => {
        if (settled) return
        const i = this.digestQueue.indexOf(start)
        if (i >= 0) this.digestQueue.splice(i, 1)
        stopped.abort()
        this.logger?.log('warn', 'workload api: hashing the caller executable timed out; unix:sha256 does not match', {
          pid,
          timeoutMs: this.digestTimeoutMs,
        })
        settle(undefined)
      }, this.digestTimeoutMs)
      timer.unref?.()
      if (this.digestInFlight) {
        this.digestQueue.push(start)
      } else {
        this.digestInFlight = true
        start()
      }
    })
  }

  private releaseDigestSlot(): void {
    const next = this.digestQueue.shift()
    if (next) next()
    else this.digestInFlight = false
  }

  /** SHA-256 (lowercase hex) of the file the process runs, or undefined when it cannot be read or is too large. */
  private async readExeDigest(pid: number, signal: AbortSignal): Promise<string | undefined> {
    let handle: Awaited<ReturnType<typeof open>> | undefined
    try {
      handle = await open(`${this.proc}/${pid}/exe`, 'r')
      const st = await handle.stat({ bigint: true })
      if (st.size > BigInt(this.maxExecutableBytes)) {
        this.logger?.log('warn', 'workload api: caller executable exceeds the hashing bound', { pid, size: Number(st.size) })
        return undefined
      }
      const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`
      const cached = this.digests.get(key)
      if (cached !== undefined) return cached
      const hash = createHash('sha256')
      const buf = Buffer.allocUnsafe(1024 * 1024)
      let total = 0
      for (;;) {
        if (signal.aborted) return undefined
        const { bytesRead } = await handle.read(buf, 0, buf.length, null)
        if (bytesRead === 0) break
        total += bytesRead
        if (total > this.maxExecutableBytes) return undefined
        hash.update(buf.subarray(0, bytesRead))
      }
      const hex = hash.digest('hex')
      if (this.digests.size >= DIGEST_CACHE_ENTRIES) this.digests.delete(this.digests.keys().next().value!)
      this.digests.set(key, hex)
      return hex
    } catch (err) {
      this.logger?.log('warn', 'workload api: cannot hash the caller executable', { pid, error: (err as Error).message })
      return undefined
    } finally {
      await handle?.close()
    }
  }
}
