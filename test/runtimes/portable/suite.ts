// The same core checks on every runtime: Node 20 and 22, Bun, Deno and workerd (edge functions).
// Web platform APIs only (this file is bundled for workerd): vectors arrive as base64 in JSON.
import { fromBase64, toHex } from '../../../core/bytes/encoding.ts'
import { parseTpmsAttest } from '../../../core/tpm2/attest.ts'
import { TPM_ST } from '../../../core/tpm2/constants.ts'
import { parsePublicArea, parseTpmtPublic } from '../../../core/tpm2/public.ts'
import { computeName } from '../../../core/tpm2/name.ts'
import { parseTpmtSignature } from '../../../core/tpm2/signature.ts'
import { verifyQuote } from '../../../core/quote/verify.ts'
import { verifyChain } from '../../../core/x509/verify.ts'
import { makeCredential } from '../../../core/credential/make-credential.ts'
import { credentialEkFromTpmtPublic } from '../../../core/credential/ek.ts'
import { verifyX509Svid } from '../../../core/svid/x509-svid.ts'
import { verifyJwtSvid } from '../../../core/svid/jwt-svid.ts'
import { parseSpiffeBundle } from '../../../core/svid/spiffe-bundle.ts'
import { BundleSet } from '../../../core/svid/bundle-set.ts'
import { withPlatform } from '../../../core/platform.ts'
import { loadWasmKernels } from '../../../wasm/load.ts'

export interface PortableVectors {
  quote: { ak: string; attest: string; signature: string; nonce: string; pcrs: string[] }
  ekChain: { leaf: string; intermediates: string[]; anchor: string; at: number }
  credential: { ekPublic: string; akPublic: string; secret: string; random: string }
  x509Svid: { chainPem: string; bundleJson: string; trustDomain: string; id: string }
  jwtSvid: { token: string; bundleJson: string; trustDomain: string; audience: string; id: string }
}

export type PortableResults = Record<string, string>

async function check(results: PortableResults, name: string, fn: () => Promise<string>): Promise<void> {
  try {
    results[name] = await fn()
  } catch (e) {
    results[name] = `FAIL ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`
  }
}

export async function runPortableSuite(v: PortableVectors, wasmSource?: WebAssembly.Module): Promise<PortableResults> {
  const results: PortableResults = {}
  const b = (s: string) => fromBase64(s)

  await check(results, 'quote', async () => {
    const attest = parseTpmsAttest(b(v.quote.attest))
    if (attest.type !== TPM_ST.ATTEST_QUOTE) throw new Error('not a quote')
    const r = await verifyQuote({
      ak: parseTpmtPublic(b(v.quote.ak)),
      attest,
      signature: parseTpmtSignature(b(v.quote.signature)),
      nonce: b(v.quote.nonce),
      pcrValues: v.quote.pcrs.map(b),
    })
    return `ok ${r.pcrValues.length} PCRs`
  })

  await check(results, 'ekChain', async () => {
    const r = await verifyChain({
      leaf: b(v.ekChain.leaf),
      intermediates: v.ekChain.intermediates.map(b),
      anchors: [b(v.ekChain.anchor)],
      at: v.ekChain.at,
      profile: 'ek',
    })
    return `ok ${r.path.length} certificates`
  })

  await check(results, 'makeCredential', async () => {
    // deterministic randomness so every runtime must produce the same bytes
    const random = b(v.credential.random)
    let used = 0
    const base = withPlatform({})
    const platform = withPlatform({ crypto: { ...base.crypto, randomBytes: (n: number) => random.slice(used, (used += n)) } })
    const ak = parsePublicArea(b(v.credential.akPublic))
    const out = await makeCredential(
      {
        ekPublic: credentialEkFromTpmtPublic(parsePublicArea(b(v.credential.ekPublic))),
        akName: await computeName(ak),
        secret: b(v.credential.secret),
      },
      { platform },
    )
    // RSA-OAEP output is randomized by the provider itself (not by randomBytes), so compare the parts that are deterministic
    return `ok idObject ${out.idObject.length} bytes, encSecret ${out.encSecret.length} bytes`
  })

  await check(results, 'x509Svid', async () => {
    const bundles = new BundleSet([parseSpiffeBundle(v.x509Svid.trustDomain, v.x509Svid.bundleJson)])
    const r = await verifyX509Svid(v.x509Svid.chainPem, bundles)
    if (r.id.toString() !== v.x509Svid.id) throw new Error(`id ${r.id.toString()}`)
    return `ok ${r.id.toString()}`
  })

  await check(results, 'jwtSvid', async () => {
    const bundles = new BundleSet([parseSpiffeBundle(v.jwtSvid.trustDomain, v.jwtSvid.bundleJson)])
    const r = await verifyJwtSvid(v.jwtSvid.token, bundles, { audience: v.jwtSvid.audience })
    if (r.id.toString() !== v.jwtSvid.id) throw new Error(`id ${r.id.toString()}`)
    return `ok ${r.id.toString()}`
  })

  await check(results, 'wasmKernels', async () => {
    const k = await loadWasmKernels(wasmSource)
    const d = toHex(k.sha256(new TextEncoder().encode('abc')))
    if (d !== 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad') throw new Error(`sha256 ${d}`)
    return `ok ${k.kind}`
  })

  return results
}
