/** BundleSource: X.509 bundles from FetchX509Bundles and JWT bundles from FetchJWTBundles, one BundleSet. */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { verifyJwtSvid } from '../../../core/svid/jwt-svid.ts'
import { verifyX509Svid } from '../../../core/svid/x509-svid.ts'
import { GrpcStatus } from '../../../core/workload/grpc-status.ts'
import { WorkloadApiMethod } from '../../../core/workload/service.ts'
import { BundleSource, createBundleSource } from '../../../runtimes/workload/sources.ts'
import { TestCa, bundleJson, makeJwtAuthority, mintJwtSvid } from '../../support/spiffe-ca.ts'
import { TestWorkloadApiServer } from '../../support/workload-api-server.ts'
import { jwtBundlesResponse, x509BundlesResponse } from '../../support/workload-svids.ts'
import { SETTLE } from '../../support/settle.ts'

const cleanup: (() => unknown)[] = []
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c()
})

describe('BundleSource', () => {
  it('becomes ready after both streams delivered, and serves both kinds of authorities per trust domain', async () => {
    const server = await new TestWorkloadApiServer().listen()
    cleanup.push(() => server.close())
    const ca = TestCa.root('example.org')
    const fed = TestCa.root('fed.example.org', 'p256', 4)
    const key = await makeJwtAuthority('ES256', 'k1')
    server.handle(WorkloadApiMethod.fetchX509Bundles, (call) =>
      call.send(x509BundlesResponse({ 'spiffe://example.org': [ca.cert.der], 'spiffe://fed.example.org': [fed.cert.der] })),
    )
    const src = new BundleSource({ address: server.address, backoff: { initialMs: 5, maxMs: 20 } })
    cleanup.push(() => src.close())
    let ready = false
    void src.ready.then(() => (ready = true))
    // barrier: the X.509 stream delivered (its call is recorded) but JWT bundles are not sent yet
    await vi.waitFor(() => expect(server.openCalls(WorkloadApiMethod.fetchJwtBundles)).toHaveLength(1), SETTLE)
    expect(ready).toBe(false)
    server.push(WorkloadApiMethod.fetchJwtBundles, jwtBundlesResponse({ 'spiffe://example.org': bundleJson([key]) }))
    await src.ready
    expect(src.bundles.trustDomains().map(String).sort()).toEqual(['example.org', 'fed.example.org'])
    await expect(verifyX509Svid(fed.issue('spiffe://fed.example.org/a').chain, src)).resolves.toBeDefined()
    const t = await mintJwtSvid(key, { claims: { sub: 'spiffe://example.org/w', aud: 'x', exp: Math.floor(Date.now() / 1000) + 60 } })
    await expect(verifyJwtSvid(t, src, { audience: 'x' })).resolves.toBeDefined()
    expect(server.calls.every((c) => c.securityHeader === 'true')).toBe(true)
  })

  it('an X509BundlesResponse without bundles is discarded; PermissionDenied withdraws the X.509 bundles only', async () => {
    const server = await new TestWorkloadApiServer().listen()
    cleanup.push(() => server.close())
    const ca = TestCa.root('example.org')
    const key = await makeJwtAuthority('ES256', 'k1')
    server.handle(WorkloadApiMethod.fetchJwtBundles, (call) => call.send(jwtBundlesResponse({ 'spiffe://example.org': bundleJson([key]) })))
    server.handle(WorkloadApiMethod.fetchX509Bundles, (call) => {
      call.send(x509BundlesResponse({}))
      call.send(x509BundlesResponse({ 'spiffe://example.org': [ca.cert.der] }))
    })
    const errors: unknown[] = []
    const src = await createBundleSource({ address: server.address, backoff: { initialMs: 5, maxMs: 20 }, onError: (e) => errors.push(e) })
    cleanup.push(() => src.close())
    expect(errors).toHaveLength(1)
    expect(errors[0]).toMatchObject({ code: 'ERR_WORKLOAD_RESPONSE_INVALID', message: 'X509BundlesResponse: bundles is empty' })
    server.handle(WorkloadApiMethod.fetchX509Bundles, () => {})
    const withdrawn = new Promise<void>((resolve) => src.onUpdate(resolve))
    server.endAll(WorkloadApiMethod.fetchX509Bundles, GrpcStatus.PERMISSION_DENIED)
    await withdrawn
    await expect(verifyX509Svid(ca.issue('spiffe://example.org/a').chain, src)).rejects.toMatchObject({ code: 'ERR_BUNDLE_NOT_FOUND' })
    expect(src.bundles.get('example.org')!.jwtAuthorities.size).toBe(1)
  })
})
