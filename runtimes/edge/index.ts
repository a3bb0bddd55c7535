import { createWebCryptoProvider } from '../../core/crypto/webcrypto.ts'
import type { Platform } from '../../core/platform.ts'
import { type KernelLoadOptions, type KernelReport, loadKernelsReported } from '../kernel-loading.ts'

export type { KernelLoadOptions, KernelReport } from '../kernel-loading.ts'
export type { WebAssemblyModule } from '../../wasm/load.ts'

/** Options of {@link createEdgePlatform}. */
export interface EdgePlatformOptions extends KernelLoadOptions {
  /** fields that replace the platform's own (a fixed clock in tests, say) */
  readonly overrides?: Partial<Platform>
}

/** A platform that also says which kernels it loaded. */
export interface EdgePlatform extends Platform {
  readonly kernelReport: KernelReport
}

/**
 * The platform for edge functions and browsers (workerd / Cloudflare Workers, Deno Deploy, Vercel
 * Edge, Chromium): Web Crypto with the WASM kernels for short digests and HMACs. workerd forbids
 * compiling WASM from bytes, so pass the module it imports:
 *
 * ```ts
 * import kernels from 'vouch/wasm/kernels.wasm'
 * const platform = await createEdgePlatform({ wasm: kernels })
 * ```
 *
 * When the kernels cannot load, the JS twin (same results) is used, `kernelReport` says why and
 * `onKernelFallback` (default: console.warn) is told.
 */
export async function createEdgePlatform(options: EdgePlatformOptions = {}): Promise<EdgePlatform> {
  const { kernels, report } = await loadKernelsReported(options)
  return Object.freeze({
    crypto: createWebCryptoProvider(globalThis.crypto, { kernels }),
    now: () => Date.now(),
    kernels,
    kernelReport: report,
    ...options.overrides,
  })
}
