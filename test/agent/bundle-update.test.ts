// The agent's bundle rule (agent/bundle-update.ts) on real CAs (server/ca/authority.ts): the same
// root, a vouched rotation, first use; refused: a replaced bundle, an added root without a cross
// certificate, an SVID from another CA, a non-CA, garbage.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { BundleRefused, checkBundleUpdate } from '../../agent/bundle-update.ts'
import { parsePemCertificates, toPem } from '../../core/bytes/pem.ts'
import { withPlatform } from '../../core/platform.ts'
import { ServerCa } from '../../server/ca/authority.ts'

const platform = withPlatform({})
const subtle = globalThis.crypto.subtle
const td = 'example.org'

async function svidFrom(ca: ServerCa): Promise<Uint8Array[]> {
  const kp = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign'])) as CryptoKeyPair
  const spki = new Uint8Array(await subtle.exportKey('spki', kp.publicKey))
  const leaf = (await ca.issueSvid(spki, `spiffe://${td}/agent/x`, 3_600_000)).der
  const cross = ca.crossPem()
  return [leaf, ...(cross ? parsePemCertificates(cross) : [])]
}

describe('agent bundle update rule', () => {
  it('accepts the same root; accepts a rotated root vouched for by a cross certificate', async () => {
    const { ca } = await ServerCa.create(td, platform, subtle)
    const old = ca.certificate
    const same = await checkBundleUpdate({ current: [old], receivedPem: ca.authoritiesPem(), svidChain: await svidFrom(ca), platform })
    expect(same).toMatchObject({ added: [], firstUse: false })
    await ca.rotate(td)
    const rotated = await checkBundleUpdate({ current: [old], receivedPem: ca.authoritiesPem(), svidChain: await svidFrom(ca), platform })
    expect(rotated.roots).toHaveLength(2)
    expect(rotated.added.map((c) => toPem('CERTIFICATE', c.raw))).toEqual([toPem('CERTIFICATE', ca.certificate.raw)])
  })

  it('takes a bundle on first use only when there is no current trust', async () => {
    const { ca } = await ServerCa.create(td, platform, subtle)
    const r = await checkBundleUpdate({ current: [], receivedPem: ca.authoritiesPem(), svidChain: await svidFrom(ca), platform })
    expect(r.firstUse).toBe(true)
  })

  it('refuses a replaced bundle, an added root without a cross certificate, and an SVID that does not verify', async () => {
    const { ca } = await ServerCa.create(td, platform, subtle)
    const { ca: proxy } = await ServerCa.create(td, platform, subtle)
    const current = [ca.certificate]
    await expect(
      checkBundleUpdate({ current, receivedPem: proxy.authoritiesPem(), svidChain: await svidFrom(proxy), platform }),
    ).rejects.toMatchObject({
      code: 'ERR_BUNDLE_UNTRUSTED',
      message: 'server bundle refused: no root of the received bundle is in the current trust',
    })
    // the proxy keeps the real root and adds its own, with an SVID of its own
    await expect(
      checkBundleUpdate({ current, receivedPem: proxy.authoritiesPem() + ca.authoritiesPem(), svidChain: await svidFrom(proxy), platform }),
    ).rejects.toMatchObject({
      code: 'ERR_BUNDLE_UNTRUSTED',
      message: expect.stringMatching(/the new root ".+" is not vouched for by the current trust/),
    })
    // the real bundle with a proxy's SVID
    await expect(
      checkBundleUpdate({ current, receivedPem: ca.authoritiesPem(), svidChain: await svidFrom(proxy), platform }),
    ).rejects.toMatchObject({
      code: 'ERR_SVID_UNTRUSTED',
      message: 'server bundle refused: the SVID does not verify under the received bundle',
    })
    // a rotation whose cross certificate was stripped
    const before = ca.certificate
    await ca.rotate(td)
    const [leaf] = await svidFrom(ca)
    await expect(checkBundleUpdate({ current: [before], receivedPem: ca.authoritiesPem(), svidChain: [leaf!], platform })).rejects.toThrow(
      /is not vouched for by the current trust \(no cross certificate signed by a trusted root\)/,
    )
  })

  it('refuses a non-CA, garbage, and an empty SVID chain with BundleRefused', async () => {
    const { ca } = await ServerCa.create(td, platform, subtle)
    const chain = await svidFrom(ca)
    const leafPem = toPem('CERTIFICATE', chain[0]!)
    await expect(checkBundleUpdate({ current: [ca.certificate], receivedPem: leafPem, svidChain: chain, platform })).rejects.toMatchObject({
      code: 'ERR_BUNDLE_MALFORMED',
      message: 'server bundle refused: bundle certificate 0 is not a CA',
    })
    await expect(
      checkBundleUpdate({ current: [ca.certificate], receivedPem: 'nothing here', svidChain: chain, platform }),
    ).rejects.toBeInstanceOf(BundleRefused)
    await expect(
      checkBundleUpdate({ current: [ca.certificate], receivedPem: ca.authoritiesPem(), svidChain: [], platform }),
    ).rejects.toThrow('server bundle refused: the answer carries no SVID')
  })
})

describe('agent bundle update rule: hostile answers', () => {
  it('any bundle text or mutated certificate gives a result or BundleRefused, never another error (10,000 runs)', async () => {
    const { ca } = await ServerCa.create(td, platform, subtle)
    const chain = await svidFrom(ca)
    const rootDer = ca.certificate.raw
    const pem = (b: Uint8Array) => toPem('CERTIFICATE', b)
    const mutated = fc
      .tuple(fc.nat({ max: rootDer.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.nat({ max: rootDer.length }))
      .map(([i, v, cut]) => {
        const b = rootDer.slice(0, Math.max(1, cut))
        if (i < b.length) b[i] = v
        return pem(b)
      })
    const text = fc.oneof(
      fc.string({ maxLength: 200 }),
      mutated,
      mutated.map((p) => p + ca.authoritiesPem()),
      fc.constant(ca.authoritiesPem()),
    )
    await fc.assert(
      fc.asyncProperty(text, fc.boolean(), async (receivedPem, withTrust) => {
        try {
          const r = await checkBundleUpdate({ current: withTrust ? [ca.certificate] : [], receivedPem, svidChain: chain, platform })
          expect(r.roots.length).toBeGreaterThan(0)
        } catch (e) {
          expect(e).toBeInstanceOf(BundleRefused)
        }
      }),
      { numRuns: 10_000 },
    )
  }, 120_000)
})
