/**
 * The raw Workload API client against the test server: metadata, statuses in trailers and
 * trailers-only, HTTP errors, broken framing, unary shapes, cancellation.
 */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { GrpcStatus } from '../../../core/workload/grpc-status.ts'
import {
  decodeJwtSvidRequest,
  decodeValidateJwtSvidRequest,
  encodeJwtSvidResponse,
  encodeValidateJwtSvidResponse,
} from '../../../core/workload/jwt-svid.ts'
import { WorkloadApiMethod } from '../../../core/workload/service.ts'
import { type CallStatus, WorkloadApiClient, grpcStatusOf } from '../../../runtimes/workload/client.ts'
import { X509Source } from '../../../runtimes/workload/sources.ts'
import { TestCa } from '../../support/spiffe-ca.ts'
import { TestWorkloadApiServer } from '../../support/workload-api-server.ts'
import { svidMessage, x509Response } from '../../support/workload-svids.ts'
import { SETTLE } from '../../support/settle.ts'

const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

async function setup(kind: 'unix' | 'tcp' = 'unix', maxMessageBytes?: number) {
  const server = await new TestWorkloadApiServer().listen(kind)
  cleanup.push(() => server.close())
  const client = new WorkloadApiClient({ address: server.address, ...(maxMessageBytes ? { maxMessageBytes } : {}) })
  cleanup.push(() => client.close())
  return { server, client }
}

/** Runs a streaming call to its end; returns the messages and the status. */
function runCall(client: WorkloadApiClient, method: WorkloadApiMethod): Promise<{ messages: Uint8Array[]; status: CallStatus }> {
  return new Promise((resolve) => {
    const messages: Uint8Array[] = []
    client.call(method, new Uint8Array(), { onMessage: (m) => messages.push(m), onEnd: (status) => resolve({ messages, status }) })
  })
}

describe('WorkloadApiClient', () => {
  it('JF-1, JF-2, JF-3, EP-2: FetchJWTSVID passes the audiences and SPIFFE ID through, with the security header', async () => {
    const { server, client } = await setup()
    server.handle(WorkloadApiMethod.fetchJwtSvid, (call) => {
      const req = decodeJwtSvidRequest(call.request)
      call.send(encodeJwtSvidResponse({ svids: [{ spiffeId: req.spiffeId || 'spiffe://td/x', svid: req.audience.join('|'), hint: '' }] }))
      call.end()
    })
    const res = await client.fetchJwtSvid({ audience: ['a', 'https://b'], spiffeId: 'spiffe://td/w' })
    expect(res.svids).toEqual([{ spiffeId: 'spiffe://td/w', svid: 'a|https://b', hint: '' }])
    const [call] = server.callsOf(WorkloadApiMethod.fetchJwtSvid)
    expect(call!.securityHeader).toBe('true')
    expect(decodeJwtSvidRequest(call!.request!)).toEqual({ audience: ['a', 'https://b'], spiffeId: 'spiffe://td/w' })
  })

  it('EP-2: ValidateJWTSVID and the streams send the security header too', async () => {
    const { server, client } = await setup()
    server.handle(WorkloadApiMethod.validateJwtSvid, (call) => {
      const req = decodeValidateJwtSvidRequest(call.request)
      call.send(encodeValidateJwtSvidResponse({ spiffeId: 'spiffe://td/w', claims: { aud: [req.audience], n: 1 } }))
      call.end()
    })
    expect(await client.validateJwtSvid({ audience: 'aud', svid: 'x.y.z' })).toEqual({
      spiffeId: 'spiffe://td/w',
      claims: { aud: ['aud'], n: 1 },
    })
    for (const m of [WorkloadApiMethod.fetchX509Svid, WorkloadApiMethod.fetchX509Bundles, WorkloadApiMethod.fetchJwtBundles]) {
      server.handle(m, (call) => call.end())
      expect((await runCall(client, m)).status.code).toBe(GrpcStatus.OK)
    }
    expect(server.calls).toHaveLength(4)
    expect(server.calls.every((c) => c.securityHeader === 'true')).toBe(true)
  })

  it('EP-3: works over tcp://127.0.0.1:port', async () => {
    const { server } = await setup('tcp')
    const ca = TestCa.root('example.org')
    const src = new X509Source({ address: server.address, backoff: { initialMs: 5, maxMs: 20 } })
    cleanup.push(() => src.close())
    await vi.waitFor(() => expect(server.openCalls(WorkloadApiMethod.fetchX509Svid)).toHaveLength(1), SETTLE)
    server.push(WorkloadApiMethod.fetchX509Svid, x509Response([svidMessage(ca, 'spiffe://example.org/w')]))
    await src.ready
    expect(src.getX509Svid().id.toString()).toBe('spiffe://example.org/w')
  })

  it('JF-4: a status in trailers or trailers-only rejects unary calls, grpc-message percent-decoded', async () => {
    const { server, client } = await setup()
    server.handle(WorkloadApiMethod.fetchJwtSvid, (call) => call.end(GrpcStatus.PERMISSION_DENIED, 'no identity for uid 1000 – sorry'))
    const e = await client.fetchJwtSvid({ audience: ['a'], spiffeId: '' }).catch((x: unknown) => x)
    expect(e).toMatchObject({
      code: 'ERR_WORKLOAD_STATUS',
      message: '/SpiffeWorkloadAPI/FetchJWTSVID: PERMISSION_DENIED: no identity for uid 1000 – sorry',
    })
    expect(grpcStatusOf(e)).toBe(GrpcStatus.PERMISSION_DENIED)
    server.handle(WorkloadApiMethod.fetchJwtSvid, (call) => {
      call.send(new Uint8Array())
      call.end(GrpcStatus.INTERNAL, 'after a message')
    })
    await expect(client.fetchJwtSvid({ audience: ['a'], spiffeId: '' })).rejects.toMatchObject({
      detail: { grpcStatus: GrpcStatus.INTERNAL },
    })
  })

  it('maps an HTTP error without grpc-status (gRPC http-grpc-status-mapping)', async () => {
    const { server, client } = await setup()
    server.handle(WorkloadApiMethod.fetchX509Svid, (call) => call.httpError(503))
    expect((await runCall(client, WorkloadApiMethod.fetchX509Svid)).status.code).toBe(GrpcStatus.UNAVAILABLE)
    server.handle(WorkloadApiMethod.fetchX509Svid, (call) => call.httpError(404))
    expect((await runCall(client, WorkloadApiMethod.fetchX509Svid)).status.code).toBe(GrpcStatus.UNIMPLEMENTED)
  })

  it('ends a call whose frame is compressed or above the bound, or truncated at the end', async () => {
    const { server, client } = await setup('unix', 64)
    server.handle(WorkloadApiMethod.fetchX509Svid, (call) => call.writeRaw(new Uint8Array([1, 0, 0, 0, 1, 0])))
    expect((await runCall(client, WorkloadApiMethod.fetchX509Svid)).status).toEqual({
      code: GrpcStatus.INTERNAL,
      message: 'gRPC message: compressed flag set, but no grpc-encoding was negotiated',
    })
    server.handle(WorkloadApiMethod.fetchX509Svid, (call) => call.send(new Uint8Array(65)))
    expect((await runCall(client, WorkloadApiMethod.fetchX509Svid)).status.code).toBe(GrpcStatus.RESOURCE_EXHAUSTED)
    server.handle(WorkloadApiMethod.fetchX509Svid, (call) => {
      call.writeRaw(new Uint8Array([0, 0, 0, 0, 9, 1]))
      call.end()
    })
    expect((await runCall(client, WorkloadApiMethod.fetchX509Svid)).status).toEqual({
      code: GrpcStatus.INTERNAL,
      message: 'gRPC stream ended inside a length-prefixed message',
    })
  })

  it('a unary call needs exactly one message', async () => {
    const { server, client } = await setup()
    server.handle(WorkloadApiMethod.fetchJwtSvid, (call) => call.end())
    await expect(client.fetchJwtSvid({ audience: ['a'], spiffeId: '' })).rejects.toThrow(
      /INTERNAL: expected one response message, received 0/,
    )
    server.handle(WorkloadApiMethod.fetchJwtSvid, (call) => {
      call.send(new Uint8Array())
      call.send(new Uint8Array())
      call.end()
    })
    await expect(client.fetchJwtSvid({ audience: ['a'], spiffeId: '' })).rejects.toThrow(/received 2/)
  })

  it('a reset stream and an unreachable endpoint are UNAVAILABLE', async () => {
    const { server, client } = await setup()
    server.handle(WorkloadApiMethod.fetchX509Svid, (call) => call.reset())
    expect((await runCall(client, WorkloadApiMethod.fetchX509Svid)).status.code).toBe(GrpcStatus.UNAVAILABLE)
    const nowhere = new WorkloadApiClient({ address: 'unix:///nonexistent/vouch/agent.sock' })
    cleanup.push(() => nowhere.close())
    const { status } = await runCall(nowhere, WorkloadApiMethod.fetchX509Svid)
    expect(status.code).toBe(GrpcStatus.UNAVAILABLE)
    expect(status.message).toMatch(/unix:\/\/\/nonexistent\/vouch\/agent.sock/)
  })

  it('an aborted unary call rejects CANCELLED; a closed client refuses calls', async () => {
    const { server, client } = await setup()
    server.handle(WorkloadApiMethod.fetchJwtSvid, () => {})
    const ac = new AbortController()
    const pending = client.fetchJwtSvid({ audience: ['a'], spiffeId: '' }, ac.signal)
    await vi.waitFor(() => expect(server.callsOf(WorkloadApiMethod.fetchJwtSvid)).toHaveLength(1), SETTLE)
    ac.abort()
    await expect(pending).rejects.toMatchObject({ detail: { grpcStatusName: 'CANCELLED' } })
    client.close()
    expect(() => client.call(WorkloadApiMethod.fetchX509Svid, new Uint8Array(), { onMessage() {}, onEnd() {} })).toThrow(
      expect.objectContaining({ code: 'ERR_WORKLOAD_CLOSED' }),
    )
  })
})
