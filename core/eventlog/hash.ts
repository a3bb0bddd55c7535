import type { HashAlg } from '../crypto/provider.ts'
import type { Platform } from '../platform.ts'
import { LOG_ALG } from './event-types.ts'

const WEB: Readonly<Record<number, HashAlg>> = {
  [LOG_ALG.SHA1]: 'SHA-1',
  [LOG_ALG.SHA256]: 'SHA-256',
  [LOG_ALG.SHA384]: 'SHA-384',
  [LOG_ALG.SHA512]: 'SHA-512',
}

/** The Web Crypto hash of a bank, or undefined (SM3_256, unknown algorithms): such banks are not replayed. */
export function bankHash(alg: number): HashAlg | undefined {
  return WEB[alg]
}

/** H_alg(data) through the platform (the JS kernels serve SHA-1 and SHA-256 without an await on Web Crypto). */
export function digestOf(alg: number, data: Uint8Array, platform: Platform): Promise<Uint8Array> {
  const hash = WEB[alg]
  if (!hash) throw new TypeError(`no hash for algorithm 0x${alg.toString(16)}`)
  if (hash === 'SHA-256') return Promise.resolve(platform.kernels.sha256(data))
  if (hash === 'SHA-1') return Promise.resolve(platform.kernels.sha1(data))
  return platform.crypto.digest(hash, data)
}
