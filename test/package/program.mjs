// The small program the tarball test runs on every runtime (Node 20 and 22, Bun, Deno, workerd,
// Chromium), from a temporary project with the packed tarball installed: it imports only the
// package ('vouch' and its subpaths) and checks four real things, each once as given and once
// tampered (the tampered one must be refused with its stable error code).
import { BundleSet, isVerifyError, parseSpiffeBundle, verifyChain, verifyJwtSvid, verifyQuote, verifyX509Svid } from 'vouch'
import { fromBase64 } from 'vouch/bytes'
import { createEdgePlatform } from 'vouch/edge'
import { parseTpmsAttest, parseTpmtPublic, parseTpmtSignature } from 'vouch/tpm2'

const b = (s) => fromBase64(s)

function flipAt(bytes, i) {
  const out = bytes.slice()
  out[i < 0 ? out.length + i : i] ^= 0x01
  return out
}

/** one base64url character changed well inside the JWS signature */
function tamperSignature(token) {
  const i = token.length - 10
  return `${token.slice(0, i)}${token[i] === 'A' ? 'B' : 'A'}${token.slice(i + 1)}`
}

async function refusal(fn) {
  try {
    await fn()
    return 'accepted'
  } catch (e) {
    return isVerifyError(e) ? e.code : `not a VerifyError: ${e instanceof Error ? e.message : String(e)}`
  }
}

async function outcome(fn) {
  try {
    return `ok ${await fn()}`
  } catch (e) {
    return `FAIL ${isVerifyError(e) ? e.code : ''} ${e instanceof Error ? e.message : String(e)}`
  }
}

/** @param {any} v the vectors (base64 and PEM strings) @param {any} platform a vouch Platform */
export async function runProgram(v, platform) {
  const quote = (nonce) =>
    verifyQuote(
      {
        ak: parseTpmtPublic(b(v.quote.ak)),
        attest: parseTpmsAttest(b(v.quote.attest)),
        signature: parseTpmtSignature(b(v.quote.signature)),
        nonce,
        pcrValues: v.quote.pcrs.map(b),
      },
      { platform },
    )
  const chain = (leaf) =>
    verifyChain(
      { leaf, intermediates: v.ekChain.intermediates.map(b), anchors: [b(v.ekChain.anchor)], at: v.ekChain.at, profile: 'ek' },
      { platform },
    )
  const x509 = (bundleJson) =>
    verifyX509Svid(v.x509Svid.chainPem, new BundleSet([parseSpiffeBundle(v.x509Svid.trustDomain, bundleJson)]), { platform })
  const jwt = (token) =>
    verifyJwtSvid(token, new BundleSet([parseSpiffeBundle(v.jwtSvid.trustDomain, v.jwtSvid.bundleJson)]), {
      audience: v.jwtSvid.audience,
      platform,
    })
  // kernels that cannot load: the edge platform falls back to the JS twin and says so
  const told = []
  const fallback = await createEdgePlatform({ wasm: new Uint8Array([0, 0x61, 0x73, 0x6d, 9]), onKernelFallback: (r) => told.push(r) })
  return {
    kernels: platform.kernels.kind,
    fallback: {
      kernels: fallback.kernelReport.kernels,
      reported: typeof fallback.kernelReport.fallbackReason === 'string' && fallback.kernelReport.fallbackReason === told[0],
      told: told.length,
    },
    quote: await outcome(async () => `${(await quote(b(v.quote.nonce))).pcrValues.length} PCRs`),
    ekChain: await outcome(async () => `${(await chain(b(v.ekChain.leaf))).path.length} certificates`),
    x509Svid: await outcome(async () => (await x509(v.x509Svid.bundleJson)).id.toString()),
    jwtSvid: await outcome(async () => (await jwt(v.jwtSvid.token)).id.toString()),
    refused: {
      quote: await refusal(() => quote(flipAt(b(v.quote.nonce), -1))),
      ekChain: await refusal(() => chain(flipAt(b(v.ekChain.leaf), 300))),
      x509Svid: await refusal(() => x509(v.x509Svid.otherBundleJson)),
      jwtSvid: await refusal(() => jwt(tamperSignature(v.jwtSvid.token))),
    },
  }
}
