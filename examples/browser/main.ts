// A page that verifies an X.509-SVID against a SPIFFE bundle, entirely in the browser.
// Build: `npx esbuild main.ts --bundle --format=esm --minify --outfile=main.js`, then serve the folder.
import { BundleSet, isVerifyError, parseSpiffeBundle, verifyX509Svid } from 'vouch'
import { createEdgePlatform } from 'vouch/edge'

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T

// browsers compile WASM from bytes, so the kernels embedded in vouch load as they are
const platform = await createEdgePlatform({ onKernelFallback: (reason) => console.warn(reason) })
$('kernels').textContent =
  `kernels: ${platform.kernelReport.kernels}${platform.kernelReport.fallbackReason ? ` (${platform.kernelReport.fallbackReason})` : ''}`

$('verify').addEventListener('click', async () => {
  const out = $('result')
  out.dataset.state = 'running'
  try {
    const trustDomain = $<HTMLInputElement>('trust-domain').value.trim()
    const bundles = new BundleSet([parseSpiffeBundle(trustDomain, $<HTMLTextAreaElement>('bundle').value)])
    const svid = await verifyX509Svid($<HTMLTextAreaElement>('svid').value, bundles, { platform })
    out.textContent = `verified: ${svid.id.toString()}`
    out.dataset.state = 'ok'
  } catch (e) {
    out.textContent = isVerifyError(e) ? `refused: ${e.code}: ${e.message}` : `error: ${String(e)}`
    out.dataset.state = 'refused'
  }
})
document.body.dataset.ready = 'true'
