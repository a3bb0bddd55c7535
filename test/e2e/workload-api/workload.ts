/**
 * A workload process for test/e2e/workload-api.test.ts, run as another Unix user
 * (`node --import tsx workload.ts MODE ...`, spawned with uid/gid) against the agent's Workload API
 * at SPIFFE_ENDPOINT_SOCKET, through the `vouch/workload` client (runtimes/workload). It prints
 * JSON lines on stdout:
 *
 *   x509              {spiffeId, chain: [base64 DER], notAfter}
 *   denied            {grpcStatus, code, message} of the first failed call
 *   watch N           {serial, notAfter, at} for each new default SVID, until N
 *   jwt AUDIENCE      {spiffeId, token}
 *   serve PEER_ID     {port}, then {peer, said} for one connection: TLS with its SVID, the peer must be
 *                     PEER_ID (a refused peer: {refused})
 *   connect PORT ID   {peer, said}: TLS to 127.0.0.1:PORT with its SVID, the server must be ID; else {refused}
 */
import { toHex } from '../../../core/bytes/encoding.ts'
import { connectTls, createJwtSource, createTlsServer, createX509Source, matchId, X509Source } from '../../../runtimes/workload/index.ts'

const [mode, ...args] = process.argv.slice(2)
const out = (o: unknown) => process.stdout.write(`${JSON.stringify(o)}\n`)

async function main(): Promise<void> {
  if (mode === 'x509') {
    const source = await createX509Source()
    const svid = source.getX509Svid()
    out({
      spiffeId: svid.id.toString(),
      chain: svid.certificates.map((c) => Buffer.from(c.raw).toString('base64')),
      notAfter: svid.certificates[0]!.notAfter,
    })
    source.close()
  } else if (mode === 'denied') {
    // the first failure the source reports (it would retry PermissionDenied with backoff)
    await new Promise<void>((done) => {
      const source: X509Source = new X509Source({
        onError: (e) => {
          const err = e as { code?: string; message?: string; detail?: { grpcStatus?: number } }
          out({ grpcStatus: err.detail?.grpcStatus, code: err.code, message: err.message })
          source.close()
          done()
        },
      })
      source.ready.then(
        () => {
          out({ unexpected: source.getX509Svid().id.toString() })
          source.close()
          done()
        },
        () => done(),
      )
    })
  } else if (mode === 'watch') {
    const want = Number(args[0])
    const source = await createX509Source()
    const seen = new Set<string>()
    await new Promise<void>((done) => {
      const report = () => {
        const leaf = source.getX509Svid().certificates[0]!
        const serial = toHex(leaf.serialNumber)
        if (seen.has(serial)) return
        seen.add(serial)
        out({ serial, notAfter: leaf.notAfter, at: Date.now() })
        if (seen.size >= want) done()
      }
      source.onUpdate(report)
      report()
    })
    source.close()
  } else if (mode === 'jwt') {
    const source = await createJwtSource()
    const svid = await source.fetchJwtSvid({ audience: args[0]! })
    out({ spiffeId: svid.id.toString(), token: svid.token })
    source.close()
  } else if (mode === 'serve') {
    // one connection: read the client's line, answer with this side's view of the peer, exit
    const source = await createX509Source()
    await new Promise<void>((done) => {
      const server = createTlsServer(
        source,
        matchId(args[0]!),
        ({ socket, peer }) => {
          socket.resume()
          socket.once('data', (d: Buffer) => {
            out({ peer: peer.id.toString(), said: d.toString() })
            socket.end(`hello ${peer.id}`, () => {
              server.close()
              done()
            })
          })
        },
        { onRefused: (e) => out({ refused: (e as Error).message }) },
      )
      server.listen(0, '127.0.0.1', () => out({ port: (server.address() as { port: number }).port }))
    })
    source.close()
  } else if (mode === 'connect') {
    const source = await createX509Source()
    let connected
    try {
      connected = await connectTls(source, matchId(args[1]!), { host: '127.0.0.1', port: Number(args[0]) })
    } catch (e) {
      out({ refused: (e as Error).message })
      source.close()
      return
    }
    const { socket, peer } = connected
    socket.write(`hello ${source.getX509Svid().id}`)
    // the answer, or the server closing on us (it refused this client)
    const said = await new Promise<string | null>((r) => {
      socket.once('data', (d: Buffer) => r(d.toString()))
      socket.once('close', () => r(null))
      socket.once('error', () => r(null))
    })
    out({ peer: peer.id.toString(), said })
    socket.end()
    source.close()
  } else throw new Error(`unknown mode ${mode}`)
}

await main()
