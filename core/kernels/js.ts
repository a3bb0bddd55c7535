import { timingSafeEqual } from '../bytes/equal.ts'
import { sha1 } from './sha1.ts'
import { hmacSha256, sha256 } from './sha256.ts'
import type { Kernels } from './types.ts'

/** The JavaScript reference kernels. */
export const jsKernels: Kernels = Object.freeze({
  kind: 'js' as const,
  timingSafeEqual,
  sha256: (data: Uint8Array) => sha256(data),
  sha1,
  hmacSha256,
})
