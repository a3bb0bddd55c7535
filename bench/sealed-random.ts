// Randomness for benchmarks of sealed sessions: the challenge material repeats (nonces, the
// activation secret, MakeCredential seeds: 32 bytes each, filled with 0x5a) so one precomputed TPM
// answer stays valid, while a sealed session's use-once id (16 bytes) and AES-GCM IV (12 bytes),
// and certificate serial numbers (16), are really random: every session is a new one, burned once.
import { withPlatform, type Platform } from '../core/platform.ts'

export function sealedFixedRandom(platform: Platform): Platform {
  return withPlatform(
    {
      crypto: {
        ...platform.crypto,
        randomBytes: (size: number) => (size === 12 || size === 16 ? platform.crypto.randomBytes(size) : new Uint8Array(size).fill(0x5a)),
      },
    },
    platform,
  )
}
