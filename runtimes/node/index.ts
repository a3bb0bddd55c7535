import { jsKernels } from '../../core/kernels/js.ts'
import type { Kernels } from '../../core/kernels/types.ts'
import type { Platform } from '../../core/platform.ts'
import { loadKernelsReported } from '../kernel-loading.ts'
import { createAttestationCaches } from '../../core/attestation/caches.ts'
import { decodeBase64Canonical, decodeBase64UrlCanonical, encodeBase64Buffer, encodeBase64UrlBuffer } from './base64.ts'
import { createNodeCryptoProvider } from './crypto-provider.ts'

export { createNodeCryptoProvider, decodeBase64Canonical, decodeBase64UrlCanonical, encodeBase64Buffer, encodeBase64UrlBuffer }

/**
 * The fast platform for Node: node:crypto provider (short SHA-256 and HMAC through the kernels
 * when they are WASM), wall clock, JS kernels unless given, Buffer base64.
 */
export function createNodePlatform(overrides: Partial<Platform> = {}): Platform {
  const kernels = overrides.kernels ?? jsKernels
  return Object.freeze({
    crypto: createNodeCryptoProvider({ kernels }),
    now: () => Date.now(),
    kernels,
    decodeBase64: decodeBase64Canonical,
    encodeBase64: encodeBase64Buffer,
    decodeBase64Url: decodeBase64UrlCanonical,
    encodeBase64Url: encodeBase64UrlBuffer,
    ...overrides,
  })
}

/**
 * The WASM kernels when they load, else the JS twin (same results either way; the fallback is
 * reported as on every platform, runtimes/kernel-loading.ts). Loaded once, on the first call, never
 * at import time.
 */
let kernels: Promise<Kernels> | undefined
export function loadKernels(): Promise<Kernels> {
  kernels ??= loadKernelsReported().then((r) => r.kernels)
  return kernels
}

/** createNodePlatform with the WASM kernels (falls back to the JS twin). */
export async function loadNodePlatform(overrides: Partial<Platform> = {}): Promise<Platform> {
  return createNodePlatform({ kernels: await loadKernels(), ...overrides })
}

/**
 * What a long-running server wants: loadNodePlatform plus the bounded attestation caches
 * (core/attestation/caches.ts): what agents send again is parsed once and CA signatures are
 * verified once; leaf signatures and every TPM check run each time.
 */
export async function loadServerPlatform(overrides: Partial<Platform> = {}): Promise<Platform> {
  return loadNodePlatform({ ...createAttestationCaches(), ...overrides })
}
