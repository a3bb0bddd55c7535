import { createWebCryptoProvider } from '../../core/crypto/webcrypto.ts'
import { jsKernels } from '../../core/kernels/js.ts'
import type { Platform } from '../../core/platform.ts'
import { loadWasmKernels } from '../../wasm/load.ts'

/**
 * The platform for edge functions (workerd, Deno Deploy, Vercel Edge): Web Crypto with the WASM
 * kernels for small digests and HMACs. workerd forbids compiling WASM from bytes, so pass the
 * module it imports: `import kernels from 'vouch/wasm/kernels.wasm'; createEdgePlatform(kernels)`.
 * Any load failure falls back to the JS twin.
 */
export async function createEdgePlatform(wasm?: WebAssembly.Module, overrides: Partial<Platform> = {}): Promise<Platform> {
  const kernels = await loadWasmKernels(wasm).catch(() => jsKernels)
  return Object.freeze({ crypto: createWebCryptoProvider(globalThis.crypto, { kernels }), now: () => Date.now(), kernels, ...overrides })
}
