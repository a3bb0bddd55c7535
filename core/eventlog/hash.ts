import type { HashAlg } from '../crypto/provider.ts'
import type { Platform } from '../platform.ts'
import { LOG_ALG } from './event-types.ts'
import { sm3 } from './sm3.ts'

const WEB: Readonly<Record<number, HashAlg>> = {
  [LOG_ALG.SHA1]: 'SHA-1',
  [LOG_ALG.SHA256]: 'SHA-256',
  [LOG_ALG.SHA384]: 'SHA-384',
  [LOG_ALG.SHA512]: 'SHA-512',
}

/**
 * Inputs up to this size go to the platform's synchronous kernels (a PCR extend is at most 128
 * bytes); larger ones (a dbx, a certificate) to its crypto provider, which hashes them natively
 * (node:crypto, Web Crypto) far faster than a WASM or JS kernel.
 */
const KERNEL_MAX_BYTES = 128

/** Whether vouch can hash a bank: SHA-1/256/384/512 through the platform, SM3_256 in JS; unknown algorithms are not replayed. */
export function bankHash(alg: number): boolean {
  return WEB[alg] !== undefined || alg === LOG_ALG.SM3_256
}

/** H_alg(data) without an await when a synchronous kernel can compute it (SHA-1 and SHA-256 up to 128 bytes, SM3), else undefined. */
export function digestNow(alg: number, data: Uint8Array, platform: Platform): Uint8Array | undefined {
  if (alg === LOG_ALG.SM3_256) return sm3(data)
  if (data.length > KERNEL_MAX_BYTES) return undefined
  if (alg === LOG_ALG.SHA256) return platform.kernels.sha256(data)
  if (alg === LOG_ALG.SHA1) return platform.kernels.sha1(data)
  return undefined
}

/** H_alg(data): short SHA-1 and SHA-256 through the platform kernels (no await), longer inputs and SHA-384/512 through its crypto, SM3 in JS. */
export function digestOf(alg: number, data: Uint8Array, platform: Platform): Promise<Uint8Array> {
  const now = digestNow(alg, data, platform)
  if (now !== undefined) return Promise.resolve(now)
  const hash = WEB[alg]
  if (!hash) throw new TypeError(`no hash for algorithm 0x${alg.toString(16)}`)
  return platform.crypto.digest(hash, data)
}
