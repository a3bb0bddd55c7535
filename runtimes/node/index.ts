import { jsKernels } from '../../core/kernels/js.ts'
import type { Kernels } from '../../core/kernels/types.ts'
import type { Platform } from '../../core/platform.ts'
import { loadWasmKernels } from '../../wasm/load.ts'
import { createCertificateCache } from '../../core/x509/certificate-cache.ts'
import { createVerifiedSignatureCache } from '../../core/x509/verified-cache.ts'
import { decodeBase64Canonical } from './base64.ts'
import { createNodeCryptoProvider } from './crypto-provider.ts'

export { createNodeCryptoProvider, decodeBase64Canonical }

/**
 * The fast platform for Node: node:crypto provider (short SHA-256 and HMAC through the kernels
 * when they are WASM), wall clock, JS kernels unless given, Buffer base64.
 */
export function createNodePlatform(overrides: Partial<Platform> = {}): Platform {
  const kernels = overrides.kernels ?? jsKernels
  return Object.freeze({ crypto: createNodeCryptoProvider({ kernels }), now: () => Date.now(), kernels, decodeBase64: decodeBase64Canonical, ...overrides })
}

/**
 * The WASM kernels when they load, else the JS twin (same results either way). Loaded once, on the
 * first call, never at import time.
 */
let kernels: Promise<Kernels> | undefined
export function loadKernels(): Promise<Kernels> {
  kernels ??= loadWasmKernels().catch(() => jsKernels)
  return kernels
}

/** createNodePlatform with the WASM kernels (falls back to the JS twin). */
export async function loadNodePlatform(overrides: Partial<Platform> = {}): Promise<Platform> {
  return createNodePlatform({ kernels: await loadKernels(), ...overrides })
}

/**
 * What a long-running server wants: loadNodePlatform plus the bounded caches for CA certificates
 * agents send with every attestation (parsed once, signatures verified once; leaves always).
 */
export async function loadServerPlatform(overrides: Partial<Platform> = {}): Promise<Platform> {
  return loadNodePlatform({ verifiedSignatures: createVerifiedSignatureCache(), certificates: createCertificateCache(), ...overrides })
}
