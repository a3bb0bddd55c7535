import { jsKernels } from '../../core/kernels/js.ts'
import type { Platform } from '../../core/platform.ts'
import { decodeBase64Canonical, encodeBase64Buffer } from '../node/base64.ts'
import { createNodeCryptoProvider } from '../node/crypto-provider.ts'

/**
 * Bun's node:crypto is BoringSSL with cheap key decoding; the same synchronous provider serves it.
 * (Kept as its own entry so Bun-specific choices, e.g. bun:ffi or Bun.file for WASM bytes, land here.)
 */
export function createBunPlatform(overrides: Partial<Platform> = {}): Platform {
  const kernels = overrides.kernels ?? jsKernels
  return Object.freeze({ crypto: createNodeCryptoProvider({ kernels }), now: () => Date.now(), kernels, decodeBase64: decodeBase64Canonical, encodeBase64: encodeBase64Buffer, ...overrides })
}
