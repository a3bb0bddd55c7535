import type { Platform } from '../../core/platform.ts'
import { createNodePlatform } from '../node/index.ts'

/**
 * Bun's node:crypto is BoringSSL with cheap key decoding; the Node platform (synchronous
 * node:crypto provider, Buffer base64) serves it as it is. Kept as its own entry so Bun-specific
 * choices (bun:ffi, Bun.file for WASM bytes) land here.
 */
export function createBunPlatform(overrides: Partial<Platform> = {}): Platform {
  return createNodePlatform(overrides)
}
