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

/** Whether vouch can hash a bank: SHA-1/256/384/512 through the platform, SM3_256 in JS; unknown algorithms are not replayed. */
export function bankHash(alg: number): boolean {
  return WEB[alg] !== undefined || alg === LOG_ALG.SM3_256
}

/** H_alg(data): SHA-1 and SHA-256 through the platform kernels (no await), SHA-384/512 through its crypto, SM3 in JS. */
export function digestOf(alg: number, data: Uint8Array, platform: Platform): Promise<Uint8Array> {
  if (alg === LOG_ALG.SM3_256) return Promise.resolve(sm3(data))
  const hash = WEB[alg]
  if (!hash) throw new TypeError(`no hash for algorithm 0x${alg.toString(16)}`)
  if (hash === 'SHA-256') return Promise.resolve(platform.kernels.sha256(data))
  if (hash === 'SHA-1') return Promise.resolve(platform.kernels.sha1(data))
  return platform.crypto.digest(hash, data)
}
