// The SPIFFE Workload API on the agent socket, end to end over a real unix socket: real
// certificates (TestCa), the real peer-credential addon, callers in this process and in child
// processes running as this uid or as nobody (65534).
import { spawn, spawnSync } from 'node:child_process'
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto'
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { connect } from 'node:net'
import { join, resolve } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { type WorkloadApi, checkSocketDirectory, startWorkloadApi } from '../../../../agent/workload/api/index.ts'
import { parseJwtBundle } from '../../../../core/svid/jwt-bundle.ts'
import { verifyJwtSvid } from '../../../../core/svid/jwt-svid.ts'
import {
  GrpcStatus,
  WorkloadApiMethod,
  decodeJwtBundlesResponse,
  decodeJwtSvidResponse,
  decodeValidateJwtSvidResponse,
  decodeX509BundlesResponse,
  decodeX509SvidResponse,
  encodeJwtSvidRequest,
  encodeValidateJwtSvidRequest,
  frameMessage,
} from '../../../../core/workload/index.ts'
import { GrpcTestClient } from '../../../support/grpc-client.ts'
import { TestCa } from '../../../support/spiffe-ca.ts'
import { MemorySource, entry } from '../../../support/workload-source.ts'

const ROOT = resolve(import.meta.dirname, '../../../..')
const UID = process.getuid!()
const GID = process.getgid!()
const NOBODY = 65534
const ROOT_ONLY = UID === 0 ? it : it.skip
if (UID !== 0) console.log('skipping the other-uid cases: they spawn a child as uid 65534, which needs root')

const NODE = realpathSync(process.execPath)
const NODE_SHA256 = createHash('sha256').update(readFileSync(NODE)).digest('hex')
const ID_UID = 'spiffe://example.org/by-uid'
const ID_EXE = 'spiffe://example.org/by-exe'

let dir: string
let childScript: string
let source: MemorySource
let api: WorkloadApi
const clients: GrpcTestClient[] = []

async function client(path = api.socketPath): Promise<GrpcTestClient> {
  const c = await GrpcTestClient.connect(path)
  clients.push(c)
  return c
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vouch-wlapi-'))
  chmodSync(dir, 0o755)
  childScript = join(dir, 'client.mjs')
  copyFileSync(join(ROOT, 'test/support/grpc-child-client.mjs'), childScript)
  chmodSync(childScript, 0o644)
  const federatedCa = TestCa.root('partner.test')
  source = await MemorySource.create({
    entries: [
      entry('e-uid', ID_UID, [`unix:uid:${UID}`]),
      entry('e-exe', ID_EXE, [`unix:uid:${UID}`, `unix:gid:${GID}`, `unix:path:${NODE}`, `unix:sha256:${NODE_SHA256}`]),
      entry('e-wrong-hash', 'spiffe://example.org/wrong-hash', [`unix:uid:${UID}`, `unix:sha256:${'0'.repeat(64)}`]),
      entry('e-other-uid', 'spiffe://example.org/other', [`unix:uid:${UID + 4242}`]),
      entry('e-group', 'spiffe://example.org/by-group', [`unix:uid:${NOBODY}`, 'unix:gid:4321']),
    ],
    federated: [{ trustDomain: 'partner.test', x509Authorities: [federatedCa.cert.der], jwtAuthorities: new Map() }],
  })
  // a directory that does not exist yet: the server creates it
  api = await startWorkloadApi({ socketPath: join(dir, 'run', 'vouch', 'agent.sock'), source })
})

afterEach(() => {
  for (const c of clients.splice(0)) c.destroy()
})

afterAll(async () => {
  await api?.close()
  rmSync(dir, { recursive: true, force: true })
})

interface ChildResult {
  status: number
  message: string
  messages: string[]
  pid: number
  uid: number
}

function runChild(options: Record<string, unknown>, spawnOptions: { uid?: number; gid?: number } = {}): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(NODE, [childScript, JSON.stringify({ socket: api.socketPath, header: true, ...options })], {
      ...spawnOptions,
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => {
      out += d
    })
    child.stderr.on('data', (d) => {
      err += d
    })
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.on('close', () => {
      clearTimeout(timer)
      try {
        resolvePromise(JSON.parse(out.trim().split('\n').pop()!) as ChildResult)
      } catch {
        reject(new Error(`child client gave no result: ${out} ${err}`))
      }
    })
  })
}

const unhex = (h: string) => new Uint8Array(Buffer.from(h, 'hex'))

describe('the agent socket', () => {
  it('is created world-connectable (0777) in a 0755 directory it creates', () => {
    const st = statSync(api.socketPath)
    expect(st.isSocket()).toBe(true)
    expect(st.mode & 0o777).toBe(0o777)
    expect(statSync(join(dir, 'run', 'vouch')).mode & 0o777).toBe(0o755)
  })

  it('the directories it creates are 0755 and the socket 0777 whatever the umask', async () => {
    const old = process.umask(0o077)
    try {
      const strict = await startWorkloadApi({ socketPath: join(dir, 'umask', 'a', 'b', 'agent.sock'), source })
      for (const d of ['umask', 'umask/a', 'umask/a/b']) expect(statSync(join(dir, d)).mode & 0o777, d).toBe(0o755)
      expect(statSync(strict.socketPath).mode & 0o777).toBe(0o777)
      await strict.close()
    } finally {
      process.umask(old)
    }
  })

  it('replaces a stale socket, refuses a live one and a file that is not a socket', async () => {
    const stale = join(dir, 'stale.sock')
    // a process that bound the socket and died without removing it
    spawnSync(NODE, ['-e', `require('net').createServer().listen(${JSON.stringify(stale)}, () => process.kill(process.pid, 'SIGKILL'))`])
    expect(statSync(stale).isSocket()).toBe(true)
    const second = await startWorkloadApi({ socketPath: stale, source, socketMode: 0o770 })
    expect(statSync(stale).mode & 0o777).toBe(0o770)
    await expect(startWorkloadApi({ socketPath: stale, source })).rejects.toThrow(/another process serves/)
    await second.close()
    const file = join(dir, 'not-a-socket')
    writeFileSync(file, 'x')
    await expect(startWorkloadApi({ socketPath: file, source })).rejects.toThrow(/exists and is not a socket/)
  })

  it('refuses to start without the peer-credential addon (never serves unattested callers)', async () => {
    await expect(
      startWorkloadApi({ socketPath: join(dir, 'noaddon.sock'), source, peerCredAddonPath: join(dir, 'missing.node') }),
    ).rejects.toMatchObject({
      code: 'ERR_WORKLOAD_API_NATIVE_MISSING',
      message: expect.stringMatching(/peer-credential addon is not built/),
    })
  })
})

describe('FetchX509SVID', () => {
  it('gives this process the SVIDs of every entry it matches (uid, gid, path, sha256), with its key, the bundle and federated bundles', async () => {
    const c = await client()
    const s = c.open(WorkloadApiMethod.fetchX509Svid, new Uint8Array())
    const r = decodeX509SvidResponse((await s.next())!)
    s.cancel()
    // the entries with a wrong hash or another uid are not matched
    expect(r.svids.map((x) => x.spiffeId)).toEqual([ID_UID, ID_EXE])
    for (const svid of r.svids) {
      const leaf = new X509Certificate(Buffer.from(svid.x509Svid))
      expect(leaf.subjectAltName).toBe(`URI:${svid.spiffeId}`)
      expect(leaf.checkPrivateKey(createPrivateKey({ key: Buffer.from(svid.x509SvidKey), format: 'der', type: 'pkcs8' }))).toBe(true)
      expect(leaf.verify(new X509Certificate(Buffer.from(svid.bundle)).publicKey)).toBe(true)
      expect(svid.bundle).toEqual(source.ca.cert.der)
    }
    expect([...r.federatedBundles.keys()]).toEqual(['spiffe://partner.test'])
  })

  ROOT_ONLY('a child process running as this uid gets its SVID; one running as nobody gets PermissionDenied', async () => {
    const mine = await runChild({ method: WorkloadApiMethod.fetchX509Svid })
    expect(mine.uid).toBe(UID)
    expect(decodeX509SvidResponse(unhex(mine.messages[0]!)).svids[0]!.spiffeId).toBe(ID_UID)
    const other = await runChild({ method: WorkloadApiMethod.fetchX509Svid }, { uid: NOBODY, gid: NOBODY })
    expect(other.uid).toBe(NOBODY)
    expect(other.messages).toEqual([])
    expect(other.status).toBe(GrpcStatus.PERMISSION_DENIED)
    expect(other.message).toMatch(/^ERR_WORKLOAD_API_NO_IDENTITY: no identity issued/)
  })

  ROOT_ONLY('a supplementary group matches unix:gid: (nobody in group 4321 gets the group entry, nobody alone does not)', async () => {
    const member = await runChild({ method: WorkloadApiMethod.fetchX509Svid, become: { uid: NOBODY, gid: NOBODY, groups: [4321] } })
    expect(member.uid).toBe(NOBODY)
    expect(decodeX509SvidResponse(unhex(member.messages[0]!)).svids.map((s) => s.spiffeId)).toEqual(['spiffe://example.org/by-group'])
    const outsider = await runChild({ method: WorkloadApiMethod.fetchX509Svid, become: { uid: NOBODY, gid: NOBODY, groups: [] } })
    expect(outsider.status).toBe(GrpcStatus.PERMISSION_DENIED)
  })

  ROOT_ONLY('a caller that changes its uid after connecting is refused: the kernel recorded another uid at connect()', async () => {
    const r = await runChild({ method: WorkloadApiMethod.fetchX509Svid, setuidAfterConnect: NOBODY })
    expect(r.uid).toBe(NOBODY)
    expect(r.status).toBe(GrpcStatus.PERMISSION_DENIED)
    expect(r.message).toMatch(/^ERR_WORKLOAD_API_CALLER_UNVERIFIED: .*now runs as uid 65534 .* not the uid 0 .*reconnect/)
  })

  ROOT_ONLY('nobody cannot get an SVID whatever it sends: JWT-SVIDs, bundles and validation are refused too', async () => {
    for (const [method, request] of [
      [WorkloadApiMethod.fetchJwtSvid, encodeJwtSvidRequest({ audience: ['a'], spiffeId: ID_UID })],
      [WorkloadApiMethod.fetchJwtBundles, new Uint8Array()],
      [WorkloadApiMethod.fetchX509Bundles, new Uint8Array()],
      [WorkloadApiMethod.validateJwtSvid, encodeValidateJwtSvidRequest({ audience: 'a', svid: 'x.y.z' })],
    ] as const) {
      const r = await runChild({ method, request: Buffer.from(request).toString('hex') }, { uid: NOBODY, gid: NOBODY })
      expect(r.status, method).toBe(GrpcStatus.PERMISSION_DENIED)
    }
  })

  it('without the workload.spiffe.io: true metadata: InvalidArgument, before anything is read', async () => {
    const c = await client()
    for (const headers of [{}, { 'workload.spiffe.io': 'false' }, { 'workload.spiffe.io': 'TRUE' }] as Record<string, string>[]) {
      const r = await c.unary(WorkloadApiMethod.fetchX509Svid, new Uint8Array(), headers)
      expect(r.status).toBe(GrpcStatus.INVALID_ARGUMENT)
      expect(r.message).toBe('ERR_WORKLOAD_API_SECURITY_HEADER: security header missing from request: workload.spiffe.io: true is required')
      expect(r.messages).toEqual([])
    }
  })

  it('a rotation pushes a new SVID on the open stream; an unchanged state pushes nothing', async () => {
    const c = await client()
    const s = c.open(WorkloadApiMethod.fetchX509Svid, new Uint8Array())
    const first = decodeX509SvidResponse((await s.next())!)
    source.emit('svids') // nothing changed for this caller: no push
    source.rotate(['e-uid'])
    const second = decodeX509SvidResponse((await s.next())!)
    expect(s.pending()).toBe(0)
    const leaf = (m: typeof first) => new X509Certificate(Buffer.from(m.svids[0]!.x509Svid))
    expect(leaf(second).serialNumber).not.toBe(leaf(first).serialNumber)
    expect(second.svids[0]!.x509SvidKey).not.toEqual(first.svids[0]!.x509SvidKey)
    expect(second.svids[1]!.x509Svid).toEqual(first.svids[1]!.x509Svid) // e-exe was not rotated
    s.cancel()
  })
})

describe('bundles', () => {
  it('FetchX509Bundles: own and federated trust domains as DER; a bundle change is pushed', async () => {
    const c = await client()
    const s = c.open(WorkloadApiMethod.fetchX509Bundles, new Uint8Array())
    const first = decodeX509BundlesResponse((await s.next())!)
    expect([...first.bundles.keys()]).toEqual(['spiffe://example.org', 'spiffe://partner.test'])
    expect(first.bundles.get('spiffe://example.org')).toEqual(source.ca.cert.der)
    const other = TestCa.root('other.test')
    source.setFederated([{ trustDomain: 'spiffe://other.test', x509Authorities: [other.cert.der], jwtAuthorities: new Map() }])
    const second = decodeX509BundlesResponse((await s.next())!)
    expect([...second.bundles.keys()]).toEqual(['spiffe://example.org', 'spiffe://other.test'])
    s.cancel()
    source.setFederated([
      { trustDomain: 'partner.test', x509Authorities: [TestCa.root('partner.test').cert.der], jwtAuthorities: new Map() },
    ])
  })

  it('FetchJWTBundles: a JWK Set per trust domain that vouch parses', async () => {
    const c = await client()
    const s = c.open(WorkloadApiMethod.fetchJwtBundles, new Uint8Array())
    const r = decodeJwtBundlesResponse((await s.next())!)
    s.cancel()
    const own = parseJwtBundle('example.org', r.bundles.get('spiffe://example.org')!)
    expect([...own.authorities.keys()]).toEqual(['jwt-key-1'])
    expect(JSON.parse(new TextDecoder().decode(r.bundles.get('spiffe://example.org')!)).keys[0].use).toBe('jwt-svid')
    expect(parseJwtBundle('partner.test', r.bundles.get('spiffe://partner.test')!).authorities.size).toBe(0)
  })
})

describe('JWT-SVIDs', () => {
  it('FetchJWTSVID: one per matched entry (or the one asked for), verifiable against the served JWT bundle', async () => {
    const c = await client()
    const r = await c.unary(WorkloadApiMethod.fetchJwtSvid, encodeJwtSvidRequest({ audience: ['spiffe://example.org/db'], spiffeId: '' }))
    expect(r.status).toBe(GrpcStatus.OK)
    const svids = decodeJwtSvidResponse(r.messages[0]!).svids
    expect(svids.map((s) => s.spiffeId)).toEqual([ID_UID, ID_EXE])
    const bundles = decodeJwtBundlesResponse((await c.open(WorkloadApiMethod.fetchJwtBundles, new Uint8Array()).next())!).bundles.get(
      'spiffe://example.org',
    )!
    const verified = await verifyJwtSvid(svids[0]!.svid, parseJwtBundle('example.org', bundles), { audience: 'spiffe://example.org/db' })
    expect(verified.id.toString()).toBe(ID_UID)
    const one = await c.unary(WorkloadApiMethod.fetchJwtSvid, encodeJwtSvidRequest({ audience: ['a'], spiffeId: ID_EXE }))
    expect(decodeJwtSvidResponse(one.messages[0]!).svids.map((s) => s.spiffeId)).toEqual([ID_EXE])
  })

  it('FetchJWTSVID refusals: no audience (InvalidArgument), an ID the caller does not match (PermissionDenied), a server failure (Unavailable)', async () => {
    const c = await client()
    const none = await c.unary(WorkloadApiMethod.fetchJwtSvid, encodeJwtSvidRequest({ audience: [], spiffeId: '' }))
    expect([none.status, none.message]).toEqual([
      GrpcStatus.INVALID_ARGUMENT,
      'ERR_WORKLOAD_API_REQUEST_INVALID: audience must be specified',
    ])
    const other = await c.unary(
      WorkloadApiMethod.fetchJwtSvid,
      encodeJwtSvidRequest({ audience: ['a'], spiffeId: 'spiffe://example.org/other' }),
    )
    expect(other.status).toBe(GrpcStatus.PERMISSION_DENIED)
    expect(other.message).toMatch(/not entitled to "spiffe:\/\/example.org\/other"/)
    source.failJwt = true
    try {
      const down = await c.unary(WorkloadApiMethod.fetchJwtSvid, encodeJwtSvidRequest({ audience: ['a'], spiffeId: '' }))
      expect([down.status, down.message]).toEqual([
        GrpcStatus.UNAVAILABLE,
        `ERR_WORKLOAD_API_UNAVAILABLE: could not fetch a JWT-SVID for ${ID_UID}`,
      ])
    } finally {
      source.failJwt = false
    }
  })

  it('ValidateJWTSVID: a good token gives its SPIFFE ID and claims; a tampered one, another audience or empty fields are InvalidArgument', async () => {
    const c = await client()
    const { token } = await source.fetchJwtSvid('e-uid', ['aud-1'])
    const ok = await c.unary(WorkloadApiMethod.validateJwtSvid, encodeValidateJwtSvidRequest({ audience: 'aud-1', svid: token }))
    expect(ok.status).toBe(GrpcStatus.OK)
    const v = decodeValidateJwtSvidResponse(ok.messages[0]!)
    expect(v.spiffeId).toBe(ID_UID)
    expect(v.claims).toMatchObject({ sub: ID_UID, aud: ['aud-1'] })
    const [h, p, sig] = token.split('.')
    const tampered = `${h}.${p}.${sig!.slice(0, -4)}AAAA`
    for (const [req, pattern] of [
      [{ audience: 'aud-1', svid: tampered }, /^ERR_WORKLOAD_API_JWT_INVALID: the JWT-SVID does not validate: ERR_JWT_SVID_SIGNATURE/],
      [{ audience: 'aud-2', svid: token }, /^ERR_WORKLOAD_API_JWT_INVALID: .*ERR_JWT_SVID_AUDIENCE/],
      [{ audience: '', svid: token }, /^ERR_WORKLOAD_API_REQUEST_INVALID: audience must be specified$/],
      [{ audience: 'a', svid: '' }, /^ERR_WORKLOAD_API_REQUEST_INVALID: svid must be specified$/],
    ] as const) {
      const r = await c.unary(WorkloadApiMethod.validateJwtSvid, encodeValidateJwtSvidRequest(req))
      expect(r.status).toBe(GrpcStatus.INVALID_ARGUMENT)
      expect(r.message).toMatch(pattern)
    }
  })
})

describe('malformed calls get stable errors', () => {
  it('a compressed frame, a truncated frame, a message that does not decode, no message at all', async () => {
    const c = await client()
    const compressed = c.open(WorkloadApiMethod.fetchJwtSvid, undefined, { keepOpen: true })
    compressed.sendRaw(new Uint8Array([1, 0, 0, 0, 0]))
    compressed.end()
    expect(await compressed.done).toMatchObject({
      status: GrpcStatus.INVALID_ARGUMENT,
      message: expect.stringMatching(/^ERR_WORKLOAD_FRAME_INVALID: /),
    })
    const truncated = c.open(WorkloadApiMethod.fetchJwtSvid, undefined, { keepOpen: true })
    truncated.sendRaw(new Uint8Array([0, 0, 0, 0, 9, 1]))
    truncated.end()
    expect(await truncated.done).toMatchObject({
      status: GrpcStatus.INVALID_ARGUMENT,
      message: expect.stringMatching(/^ERR_WORKLOAD_FRAME_INVALID: /),
    })
    const garbage = await c.unary(WorkloadApiMethod.fetchJwtSvid, new Uint8Array([0x0a, 0x05, 0x61]))
    expect(garbage.status).toBe(GrpcStatus.INVALID_ARGUMENT)
    expect(garbage.message).toMatch(/^ERR_WORKLOAD_MALFORMED: JWTSVIDRequest: /)
    const empty = c.open(WorkloadApiMethod.fetchX509Svid)
    expect(await empty.done).toMatchObject({
      status: GrpcStatus.INVALID_ARGUMENT,
      message: 'ERR_WORKLOAD_API_REQUEST_INVALID: the call carried no request message',
    })
  })

  it('a message above the bound is ResourceExhausted before it is buffered', async () => {
    const c = await client()
    const big = c.open(WorkloadApiMethod.fetchJwtSvid, undefined, { keepOpen: true })
    big.sendRaw(new Uint8Array([0, 0x7f, 0xff, 0xff, 0xff]))
    expect(await big.done).toMatchObject({
      status: GrpcStatus.RESOURCE_EXHAUSTED,
      message: expect.stringMatching(/^ERR_INPUT_TOO_LARGE: /),
    })
  })

  it('an unknown method is Unimplemented; a non-gRPC content type is HTTP 415', async () => {
    const c = await client()
    const r = await c.unary('/SpiffeWorkloadAPI/FetchEverything', new Uint8Array())
    expect(r.status).toBe(GrpcStatus.UNIMPLEMENTED)
    expect(r.message).toMatch(/^ERR_WORKLOAD_API_METHOD_UNKNOWN: no method "\/SpiffeWorkloadAPI\/FetchEverything"/)
    const json = c.open(WorkloadApiMethod.fetchX509Svid, frameMessage(new Uint8Array()), { contentType: 'application/json' })
    expect((await json.done).httpStatus).toBe(415)
  })
})

describe('bounds and shutdown', () => {
  it('bounds concurrent calls per connection (SETTINGS_MAX_CONCURRENT_STREAMS) and connections', async () => {
    const small = await startWorkloadApi({ socketPath: join(dir, 'small.sock'), source, maxStreamsPerConnection: 2, maxConnections: 1 })
    try {
      const c = await GrpcTestClient.connect(small.socketPath)
      clients.push(c)
      const a = c.open(WorkloadApiMethod.fetchX509Bundles, new Uint8Array())
      const b = c.open(WorkloadApiMethod.fetchX509Bundles, new Uint8Array())
      await a.next()
      await b.next()
      expect(c.session.remoteSettings.maxConcurrentStreams).toBe(2)
      // a third call waits for a slot: it is answered only once another call ends
      const third = c.open(WorkloadApiMethod.fetchX509Bundles, new Uint8Array())
      await expect(third.next(300)).rejects.toThrow(/timed out/)
      a.cancel()
      expect(decodeX509BundlesResponse((await third.next())!).bundles.size).toBe(2)
      expect(small.connections()).toBe(1)
      // a second connection is dropped at accept
      const dropped = await GrpcTestClient.connect(small.socketPath).then(
        async (x) => {
          clients.push(x)
          return (await x.open(WorkloadApiMethod.fetchX509Bundles, new Uint8Array()).done).status
        },
        () => -2,
      )
      expect(dropped).toBeLessThan(0) // closed with no response
      expect(small.connections()).toBe(1)
    } finally {
      await small.close()
    }
  })

  it('bounds the connections of one uid, so one local user cannot take them all', async () => {
    const api2 = await startWorkloadApi({ socketPath: join(dir, 'peruid.sock'), source, maxConnectionsPerUid: 2 })
    try {
      const a = await GrpcTestClient.connect(api2.socketPath)
      const b = await GrpcTestClient.connect(api2.socketPath)
      clients.push(a, b)
      await a.open(WorkloadApiMethod.fetchX509Bundles, new Uint8Array()).next()
      await b.open(WorkloadApiMethod.fetchX509Bundles, new Uint8Array()).next()
      const third = await GrpcTestClient.connect(api2.socketPath).then(
        async (x) => {
          clients.push(x)
          return (await x.open(WorkloadApiMethod.fetchX509Bundles, new Uint8Array()).done).status
        },
        () => -2,
      )
      expect(third).toBeLessThan(0)
      b.destroy()
      for (let i = 0; i < 50 && api2.connections() > 1; i++) await new Promise((r) => setTimeout(r, 10))
      const again = await GrpcTestClient.connect(api2.socketPath) // a slot is free again
      clients.push(again)
      expect(decodeX509BundlesResponse((await again.open(WorkloadApiMethod.fetchX509Bundles, new Uint8Array()).next())!).bundles.size).toBe(
        2,
      )
    } finally {
      await api2.close()
    }
  })

  it('a client that speaks HTTP/1.1 is dropped; the socket keeps serving', async () => {
    const raw = connect(api.socketPath)
    const closed = new Promise<string>((r) => {
      let got = ''
      raw.on('data', (d) => {
        got += d.toString('latin1')
      })
      raw.on('close', () => r(got))
      raw.on('error', () => {})
    })
    raw.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    expect(await closed).not.toMatch(/^HTTP\/1\.1 200/)
    const c = await client()
    expect(decodeX509SvidResponse((await c.open(WorkloadApiMethod.fetchX509Svid, new Uint8Array()).next())!).svids).toHaveLength(2)
  })

  it('close() ends open streams with Unavailable, unsubscribes from the source and removes the socket', async () => {
    const own = await MemorySource.create({ entries: [entry('e', ID_UID, [`unix:uid:${UID}`])] })
    const extra = await startWorkloadApi({ socketPath: join(dir, 'closing.sock'), source: own })
    const c = await GrpcTestClient.connect(extra.socketPath)
    clients.push(c)
    const s = c.open(WorkloadApiMethod.fetchX509Svid, new Uint8Array())
    await s.next()
    expect(own.listenerCount()).toBe(2) // the server's bundle watch and this stream
    await extra.close()
    expect(await s.done).toMatchObject({
      status: GrpcStatus.UNAVAILABLE,
      message: 'ERR_WORKLOAD_API_UNAVAILABLE: the agent is shutting down',
    })
    expect(own.listenerCount()).toBe(0)
    expect(() => statSync(extra.socketPath)).toThrow(/ENOENT/)
  })

  it('a cancelled stream stops watching the source', async () => {
    const own = await MemorySource.create({ entries: [entry('e', ID_UID, [`unix:uid:${UID}`])] })
    const extra = await startWorkloadApi({ socketPath: join(dir, 'cancel.sock'), source: own })
    try {
      const c = await GrpcTestClient.connect(extra.socketPath)
      clients.push(c)
      const s = c.open(WorkloadApiMethod.fetchJwtBundles, new Uint8Array())
      await s.next()
      expect(own.listenerCount()).toBe(2)
      s.cancel()
      await s.done
      for (let i = 0; i < 50 && own.listenerCount() > 1; i++) await new Promise((r) => setTimeout(r, 10))
      expect(own.listenerCount()).toBe(1)
    } finally {
      await extra.close()
    }
  })
})

// Security review (2026-12-06): a local user could hold every connection slot with connections that
// never call, or calls that never send their request.
describe('time bounds', () => {
  it('a connection with no open call is closed after idleTimeoutMs; one with an open call is kept', async () => {
    const own = await startWorkloadApi({ socketPath: join(dir, 'idle.sock'), source, idleTimeoutMs: 150 })
    try {
      const idle = await GrpcTestClient.connect(own.socketPath)
      const busy = await GrpcTestClient.connect(own.socketPath)
      clients.push(idle, busy)
      const idleClosed = new Promise<void>((r) => idle.session.once('close', () => r()))
      const watch = busy.open(WorkloadApiMethod.fetchX509Bundles, new Uint8Array())
      await watch.next()
      await idleClosed // never answered without the idle timeout (the test would time out)
      expect(own.connections()).toBe(1)
      expect(busy.session.closed || busy.session.destroyed).toBe(false)
      // once its last call ends, the busy connection is idle too and closed in turn
      const busyClosed = new Promise<void>((r) => busy.session.once('close', () => r()))
      watch.cancel()
      await busyClosed
      for (let i = 0; i < 50 && own.connections() > 0; i++) await new Promise((r) => setTimeout(r, 10))
      expect(own.connections()).toBe(0)
    } finally {
      await own.close()
    }
  })

  it('a call that does not send its request within requestTimeoutMs ends with ResourceExhausted', async () => {
    const own = await startWorkloadApi({ socketPath: join(dir, 'request.sock'), source, requestTimeoutMs: 100 })
    try {
      const c = await client(own.socketPath)
      const silent = c.open(WorkloadApiMethod.fetchX509Svid, undefined, { keepOpen: true })
      expect(await silent.done).toMatchObject({
        status: GrpcStatus.RESOURCE_EXHAUSTED,
        message: 'ERR_WORKLOAD_API_LIMIT: no request message within 100 ms',
      })
      // a call that sends its request in time is served and may stay open past the deadline
      const ok = c.open(WorkloadApiMethod.fetchX509Bundles, new Uint8Array(), { keepOpen: true })
      expect(decodeX509BundlesResponse((await ok.next())!).bundles.size).toBe(2)
      await new Promise((r) => setTimeout(r, 200))
      expect(ok.stream.closed).toBe(false)
      ok.cancel()
    } finally {
      await own.close()
    }
  })
})

// Security review (2026-12-06): in a directory others may write, another user could take the socket path.
describe('the socket directory', () => {
  it('is refused when group or others may write it (even sticky, as /tmp), naming the directory', async () => {
    const base = mkdtempSync(join(tmpdir(), 'vouch-sockdir-'))
    try {
      const open = join(base, 'open')
      mkdirSync(open)
      chmodSync(open, 0o777)
      await expect(startWorkloadApi({ socketPath: join(open, 'agent.sock'), source })).rejects.toThrow(
        new RegExp(`the socket directory ${open} \\(mode 0777\\) is writable by other users`),
      )
      expect(() => statSync(join(open, 'agent.sock'))).toThrow(/ENOENT/)
      chmodSync(open, 0o1777)
      await expect(checkSocketDirectory(open)).rejects.toThrow(/mode 1777\) is writable by other users/)
      chmodSync(open, 0o775)
      await expect(checkSocketDirectory(open)).rejects.toThrow(/mode 0775\) is writable by other users/)
      // a directory of its own below a sticky world-writable one (as /tmp/x) is fine; below a
      // non-sticky one it is not (its directory could be renamed away and replaced)
      const mine = join(open, 'mine')
      mkdirSync(mine)
      chmodSync(mine, 0o755)
      chmodSync(open, 0o1777)
      await checkSocketDirectory(mine)
      chmodSync(open, 0o777)
      await expect(checkSocketDirectory(mine)).rejects.toThrow(new RegExp(`a directory above the socket ${open} \\(mode 0777\\)`))
    } finally {
      rmSync(base, { recursive: true, force: true })
    }
  })

  it("is accepted when it is the agent's own 0755 directory, and the server serves there", async () => {
    const base = mkdtempSync(join(tmpdir(), 'vouch-sockdir-'))
    try {
      chmodSync(base, 0o755)
      const own = await startWorkloadApi({ socketPath: join(base, 'agent.sock'), source })
      try {
        const c = await client(own.socketPath)
        expect(decodeX509SvidResponse((await c.open(WorkloadApiMethod.fetchX509Svid, new Uint8Array()).next())!).svids).toHaveLength(2)
      } finally {
        await own.close()
      }
    } finally {
      rmSync(base, { recursive: true, force: true })
    }
  })

  ROOT_ONLY('is refused when another user owns it', async () => {
    const base = mkdtempSync(join(tmpdir(), 'vouch-sockdir-'))
    try {
      chmodSync(base, 0o755)
      chownSync(base, NOBODY, NOBODY)
      await expect(checkSocketDirectory(base)).rejects.toThrow(
        new RegExp(`${base} is owned by uid ${NOBODY}, not the agent \\(uid 0\\) or root`),
      )
    } finally {
      rmSync(base, { recursive: true, force: true })
    }
  })
})
