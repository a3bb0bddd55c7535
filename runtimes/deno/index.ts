import { createWebCryptoProvider } from '../../core/crypto/webcrypto.ts'
import { jsKernels } from '../../core/kernels/js.ts'
import type { Platform } from '../../core/platform.ts'
import { createAttestationCaches } from '../../core/attestation/caches.ts'
import { type KernelLoadOptions, type KernelReport, loadKernelsReported } from '../kernel-loading.ts'

export type { KernelLoadOptions, KernelReport } from '../kernel-loading.ts'

/**
 * The platform for Deno: Deno's Web Crypto (measured at 1.2-1.9x its node:crypto compatibility
 * layer by `npm run bench:deno`), the wall clock and the JS kernels unless given.
 */
export function createDenoPlatform(overrides: Partial<Platform> = {}): Platform {
  const kernels = overrides.kernels ?? jsKernels
  return Object.freeze({ crypto: createWebCryptoProvider(globalThis.crypto, { kernels }), now: () => Date.now(), kernels, ...overrides })
}

/** createDenoPlatform with the WASM kernels (the JS twin when they cannot load; `kernelReport` says which). */
export async function loadDenoPlatform(
  options: KernelLoadOptions & { readonly overrides?: Partial<Platform> } = {},
): Promise<Platform & { readonly kernelReport: KernelReport }> {
  const { kernels, report } = await loadKernelsReported(options)
  return Object.freeze({ ...createDenoPlatform({ kernels, ...options.overrides }), kernelReport: report })
}

/** What a long-running Deno server wants: loadDenoPlatform plus the bounded attestation caches. */
export async function loadDenoServerPlatform(options: KernelLoadOptions = {}): Promise<Platform> {
  return loadDenoPlatform({ ...options, overrides: createAttestationCaches() })
}
