// Workload attestation from peer credentials: the /proc parsers, the selector grammar, and the real
// addon on real sockets (SO_PEERCRED, the pidfd, a caller that exits before it is attested).
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, closeSync, mkdtempSync, openSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  CallerAttestor,
  MAX_QUEUED_EXECUTABLE_DIGESTS,
  parseProcStatus,
  parseSelector,
  parseStartTime,
} from '../../../../agent/workload/api/attest.ts'
import type { Logger } from '../../../../agent/log.ts'
import { loadPeerCredAddon, type PeerCredAddon } from '../../../../agent/workload/api/peercred.ts'
import type { WorkloadX509Svid } from '../../../../agent/workload/source.ts'
import { entry } from '../../../support/workload-source.ts'

let dir: string
let server: Server
let socketPath: string
let addon: PeerCredAddon
const accepted: Socket[] = []
let onAccept: ((s: Socket) => void) | undefined

beforeAll(async () => {
  const a = loadPeerCredAddon()
  if (!a) throw new Error('the peer-credential addon is not built (npm ci builds it: scripts/build-native.mjs)')
  addon = a
  dir = mkdtempSync(join(tmpdir(), 'vouch-attest-'))
  socketPath = join(dir, 's.sock')
  server = createServer((s) => {
    accepted.push(s)
    onAccept?.(s)
  })
  await new Promise<void>((r) => server.listen(socketPath, r))
})
afterAll(async () => {
  for (const s of accepted) s.destroy()
  await new Promise((r) => server.close(r))
  rmSync(dir, { recursive: true, force: true })
})

/** Connects from this process and returns the server's side of the connection. */
async function acceptFromSelf(): Promise<{ server: Socket; client: Socket }> {
  const got = new Promise<Socket>((r) => {
    onAccept = r
  })
  const client = connect(socketPath)
  return { server: await got, client }
}

const svid = (id: string, selectors: string[]): WorkloadX509Svid => ({
  entry: entry(id, `spiffe://example.org/${id}`, selectors),
  chain: [],
  privateKey: new Uint8Array(),
  notBefore: new Date(0),
  notAfter: new Date(0),
})

describe('parsers', () => {
  it('/proc/<pid>/status: the effective uid and gid and the supplementary groups', () => {
    const own = parseProcStatus(readFileSync('/proc/self/status', 'latin1'))
    expect(own).toEqual({ uid: process.geteuid!(), gid: process.getegid!(), groups: expect.any(Array) })
    const text = 'Name:\tx\nUid:\t1000\t1001\t1002\t1003\nGid:\t20\t21\t22\t23\nGroups:\t4 24 27 \nNgid:\t0\n'
    expect(parseProcStatus(text)).toEqual({ uid: 1001, gid: 21, groups: [4, 24, 27] })
    expect(parseProcStatus('Uid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\nGroups:\t\n')).toEqual({ uid: 2, gid: 6, groups: [] })
    expect(parseProcStatus('Uid:\t1\t2\nGroups:\t1\n')).toBeUndefined() // no Gid line
    expect(parseProcStatus('Uid:\t1\tx\nGid:\t1\t1\n')).toBeUndefined()
  })

  it('/proc/<pid>/stat: field 22 (starttime), whatever the command name holds', () => {
    expect(parseStartTime(readFileSync('/proc/self/stat', 'latin1'))).toMatch(/^\d+$/)
    const fields = Array.from({ length: 50 }, (_, i) => String(i + 3))
    expect(parseStartTime(`42 (evil) (name) ${fields.join(' ')}`)).toBe('22')
    expect(parseStartTime('42 no parentheses')).toBeUndefined()
    expect(parseStartTime('42 (x) S 1')).toBeUndefined()
  })

  it('selectors: unix:uid|gid (decimal), unix:path, unix:sha256; anything else matches nothing', () => {
    expect(parseSelector('unix:uid:1000')).toEqual({ kind: 'uid', value: '1000' })
    expect(parseSelector('unix:path:/usr/bin/x:y')).toEqual({ kind: 'path', value: '/usr/bin/x:y' })
    for (const bad of ['unix:uid:01', 'unix:uid:-1', 'unix:uid:', 'unix:user:root', 'k8s:ns:default', 'unix', 'unix:gid:1e3']) {
      expect(parseSelector(bad), bad).toBeUndefined()
    }
  })
})

describe('the peer-credential addon on a real socket', () => {
  it('SO_PEERCRED names this process; the pidfd is SO_PEERPIDFD or pidfd_open, and it says "running"', async () => {
    const { server: s, client } = await acceptFromSelf()
    const fd = (s as unknown as { _handle: { fd: number } })._handle.fd
    const creds = addon.peerCredentials(fd)
    console.log(`peer pidfd from ${creds.pidfdSource}`)
    expect(creds).toMatchObject({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() })
    expect(['SO_PEERPIDFD', 'pidfd_open']).toContain(creds.pidfdSource)
    expect(addon.pidfdExited(creds.pidfd)).toBe(false)
    addon.closeFd(creds.pidfd)
    client.destroy()
  })

  it('bad arguments are errors, not crashes', () => {
    expect(() => addon.peerCredentials(-1)).toThrow(/out of range/)
    expect(() => addon.peerCredentials('3' as unknown as number)).toThrow(/expected a file descriptor number/)
    const file = openSync('/proc/self/status', 'r')
    try {
      expect(() => addon.peerCredentials(file)).toThrow(/getsockopt\(SO_PEERCRED\) failed: Socket operation on non-socket/)
    } finally {
      closeSync(file)
    }
  })

  it('matches entries: all selectors must hold; path and sha256 of the running executable', async () => {
    const attestor = new CallerAttestor({ addon })
    const { server: s, client } = await acceptFromSelf()
    const peer = attestor.peer(s)
    const exe = realpathSync(process.execPath)
    const sha = createHash('sha256').update(readFileSync(exe)).digest('hex')
    const uid = `unix:uid:${process.getuid!()}`
    const r = await attestor.attest(peer, [
      svid('uid', [uid]),
      svid('uid-and-wrong-gid', [uid, 'unix:gid:4242']),
      svid('path', [uid, `unix:path:${exe}`]),
      svid('wrong-path', [uid, '/usr/bin/false']),
      svid('sha', [`unix:sha256:${sha}`]),
      svid('wrong-sha', [`unix:sha256:${'a'.repeat(64)}`]),
      svid('no-selectors', []),
      svid('unknown-selector', [uid, 'docker:label:x']),
    ])
    expect(r.svids.map((x) => x.entry.id)).toEqual(['uid', 'path', 'sha'])
    expect(r.caller).toMatchObject({ pid: process.pid, uid: process.getuid!() })
    // the digest is cached by inode and times: a second attestation answers the same
    expect((await attestor.attest(peer, [svid('sha', [`unix:sha256:${sha}`])])).svids).toHaveLength(1)
    peer.close()
    peer.close() // idempotent
    client.destroy()
  })

  it('a caller that exited before it was attested is refused (its pid could be anyone now)', async () => {
    const attestor = new CallerAttestor({ addon })
    const got = new Promise<Socket>((r) => {
      onAccept = r
    })
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const c = require('net').connect(${JSON.stringify(socketPath)}); c.on('connect', () => console.log('up')); setInterval(() => {}, 1000)`,
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    const s = await got
    const peer = attestor.peer(s)
    expect(peer.credentials.pid).toBe(child.pid)
    const ok = await attestor.attest(peer, [svid('uid', [`unix:uid:${process.getuid!()}`])])
    expect(ok.svids).toHaveLength(1)
    const exited = new Promise((r) => child.once('exit', r))
    child.kill('SIGKILL')
    await exited
    await expect(attestor.attest(peer, [svid('uid', [`unix:uid:${process.getuid!()}`])])).rejects.toMatchObject({
      code: 'ERR_WORKLOAD_API_CALLER_UNVERIFIED',
      message: expect.stringMatching(new RegExp(`calling process \\(pid ${child.pid}\\) exited`)),
    })
    peer.close()
  })
})

// Security review (2026-12-06): unix:path and unix:sha256 are read from /proc/<pid>/exe when the call
// comes, but the process that connected may have exec'd another program since (same pid, same
// pidfd, same uid) and handed the connection to a forked child first. The entry of that program
// must not go to the connection.
describe('a caller that execs another program after connecting', () => {
  it("does not get that program's entry (unix:path)", async () => {
    const asNobody = process.getuid!() === 0
    chmodSync(dir, 0o755)
    chmodSync(socketPath, 0o777)
    const attestor = new CallerAttestor({ addon })
    const got = new Promise<Socket>((r) => {
      onAccept = r
    })
    // connect, keep the connection in a forked child (which would read the answer), exec sleep
    const script = [
      'import os, socket, sys, time',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
      's.connect(sys.argv[1])',
      'os.set_inheritable(s.fileno(), True)',
      'if os.fork() == 0:',
      '    time.sleep(30)',
      '    os._exit(0)',
      // exec only once the agent has accepted (an exec before the accept is the documented race
      // that the entry rule closes: a path selector needs a uid or gid selector beside it)
      'sys.stdin.readline()',
      "os.execv('/usr/bin/sleep', ['sleep', '30'])",
    ].join('\n')
    const child = spawn('/usr/bin/python3', ['-c', script, socketPath], {
      stdio: ['pipe', 'ignore', 'ignore'],
      detached: true,
      ...(asNobody ? { uid: 65534, gid: 65534 } : {}),
    })
    try {
      const s = await got
      const peer = attestor.peer(s)
      expect(peer.credentials.pid).toBe(child.pid)
      child.stdin!.write('exec\n')
      let exe = ''
      for (let i = 0; i < 300 && exe !== '/usr/bin/sleep'; i++) {
        await new Promise((r) => setTimeout(r, 10))
        try {
          exe = readlinkSync(`/proc/${child.pid}/exe`)
        } catch {}
      }
      expect(exe).toBe('/usr/bin/sleep')
      const r = await attestor.attest(peer, [svid('sleep', ['unix:path:/usr/bin/sleep'])]).catch((e: unknown) => e)
      const granted = r instanceof Error ? [] : (r as { svids: WorkloadX509Svid[] }).svids.map((x) => x.entry.id)
      expect(granted).toEqual([])
      peer.close()
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL')
      } catch {}
    }
  })
})

// Security review (2026-12-06): a stream's caller facts are read once at its start; match() after a
// rotation checks only that the pidfd still runs. A root process that opens FetchX509SVID and then
// drops to nobody (a supervisor that setuid()s and runs a user's program with the fd inherited)
// keeps receiving root's entries, with their private keys, on every rotation. attest.ts:19 says a
// caller that changes its uid/gid after connecting gets PermissionDenied.
describe('a stream whose caller changes its uid after the stream started', () => {
  it.runIf(process.getuid!() === 0)('gets no further SVIDs of its former uid', async () => {
    const attestor = new CallerAttestor({ addon })
    const got = new Promise<Socket>((r) => {
      onAccept = r
    })
    const script = [
      'import os, socket, sys, time',
      's = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)',
      's.connect(sys.argv[1])',
      'sys.stdin.readline()',
      'os.setgroups([])',
      'os.setgid(65534)',
      'os.setuid(65534)',
      'time.sleep(30)',
    ].join('\n')
    const child = spawn('/usr/bin/python3', ['-c', script, socketPath], { stdio: ['pipe', 'ignore', 'ignore'] })
    try {
      const peer = attestor.peer(await got)
      const facts = await attestor.facts(peer)
      const rootEntry = [svid('root', ['unix:uid:0'])]
      expect((await attestor.match(peer, facts, rootEntry)).svids).toHaveLength(1)
      child.stdin!.write('go\n')
      let uid = ''
      for (let i = 0; i < 300 && uid !== '65534'; i++) {
        await new Promise((r) => setTimeout(r, 10))
        uid = /^Uid:\s+\d+\s+(\d+)/m.exec(readFileSync(`/proc/${child.pid}/status`, 'latin1'))?.[1] ?? ''
      }
      expect(uid).toBe('65534')
      // the rotation push: the stream matches again with the facts of its start
      const r = await attestor.match(peer, facts, rootEntry).catch((e: unknown) => e)
      const granted = r instanceof Error ? [] : (r as { svids: WorkloadX509Svid[] }).svids.map((x) => x.entry.id)
      expect(granted).toEqual([])
      peer.close()
    } finally {
      child.kill('SIGKILL')
    }
  })
})

// Security review (2026-12-06): hashing the caller's executable for unix:sha256 reads a file the caller
// chose; on a stalled FUSE or NFS mount the read never ends and holds a libuv threadpool thread. At
// most one hash is in flight, the others wait in a bounded queue, and a deadline ends the wait (the
// selector does not match). A slow reader is injected: the real one would need a stalled mount.
describe('hashing the caller executable is bounded', () => {
  /** Waits (a few event-loop turns) until `cond` holds or gives up; the assertion after it decides. */
  async function until(cond: () => boolean, turns = 20): Promise<void> {
    for (let i = 0; i < turns && !cond(); i++) await new Promise((r) => setImmediate(r))
  }

  function recordingLogger(): { logger: Logger; lines: string[] } {
    const lines: string[] = []
    return { lines, logger: { log: (_level, message) => void lines.push(message) } as Logger }
  }

  it('one hash in flight; past the deadline unix:sha256 does not match, and it is logged', async () => {
    const { logger, lines } = recordingLogger()
    const reads: { pid: number; signal: AbortSignal; resolve: (v: string | undefined) => void }[] = []
    const attestor = new CallerAttestor({
      addon,
      logger,
      executableDigestTimeoutMs: 100,
      readExecutableDigest: (pid, signal) => new Promise((resolve) => reads.push({ pid, signal, resolve })),
    })
    const { server: s, client } = await acceptFromSelf()
    const peer = attestor.peer(s)
    const sha = 'ab'.repeat(32)
    const entries = [svid('sha', [`unix:sha256:${sha}`])]
    try {
      // three calls at once: one read starts, the other two wait behind it; the read never ends
      const results = await Promise.all([1, 2, 3].map(() => attestor.attest(peer, entries)))
      expect(results.map((r) => r.svids.length)).toEqual([0, 0, 0])
      expect(reads).toHaveLength(1)
      expect(reads[0]!.pid).toBe(process.pid)
      expect(reads[0]!.signal.aborted).toBe(true) // the reader is told to stop
      expect(lines.filter((l) => /hashing the caller executable timed out/.test(l))).toHaveLength(3)
      // the stuck read keeps its slot until it ends: a new call reads nothing meanwhile
      const facts = await attestor.facts(peer)
      const waiting = attestor.match(peer, facts, entries)
      await until(() => lines.length > 3 || reads.length > 1)
      expect(reads).toHaveLength(1)
      reads[0]!.resolve(undefined)
      // the slot is free again: the waiting call reads now, and a digest in time matches
      await until(() => reads.length === 2)
      expect(reads).toHaveLength(2)
      reads[1]!.resolve(sha)
      expect((await waiting).svids.map((x) => x.entry.id)).toEqual(['sha'])
    } finally {
      peer.close()
      client.destroy()
    }
  })

  it(`at most ${MAX_QUEUED_EXECUTABLE_DIGESTS} digests wait; more are refused at once (no match), and it is logged`, async () => {
    const { logger, lines } = recordingLogger()
    const reads: ((v: string | undefined) => void)[] = []
    const attestor = new CallerAttestor({
      addon,
      logger,
      executableDigestTimeoutMs: 60_000,
      readExecutableDigest: () => new Promise((resolve) => reads.push(resolve)),
    })
    const { server: s, client } = await acceptFromSelf()
    const peer = attestor.peer(s)
    try {
      const facts = await Promise.all(Array.from({ length: MAX_QUEUED_EXECUTABLE_DIGESTS + 2 }, () => attestor.facts(peer)))
      const digests = facts.map((f) => f.digest())
      // one in flight, MAX queued, the last refused without waiting for the deadline
      expect(reads).toHaveLength(1)
      expect(await digests[digests.length - 1]).toBeUndefined()
      expect(lines.filter((l) => /too many caller executables waiting/.test(l))).toHaveLength(1)
      // each queued digest runs in turn, one at a time
      for (let i = 0; i <= MAX_QUEUED_EXECUTABLE_DIGESTS; i++) {
        await until(() => reads.length === i + 1)
        expect(reads).toHaveLength(i + 1)
        reads[i]!(`${i}`)
      }
      expect(await Promise.all(digests.slice(0, -1))).toEqual(Array.from({ length: MAX_QUEUED_EXECUTABLE_DIGESTS + 1 }, (_, i) => `${i}`))
    } finally {
      peer.close()
      client.destroy()
    }
  })
})
