import { jsKernels } from '../../core/kernels/js.ts'
import type { Platform } from '../../core/platform.ts'
import { createNodeCryptoProvider } from './crypto-provider.ts'

export { createNodeCryptoProvider }

/** The fast platform for Node: node:crypto provider, wall clock, JS kernels (WASM when loaded). */
export function createNodePlatform(overrides: Partial<Platform> = {}): Platform {
  return Object.freeze({ crypto: createNodeCryptoProvider(), now: () => Date.now(), kernels: jsKernels, ...overrides })
}
