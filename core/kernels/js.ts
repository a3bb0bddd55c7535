import { timingSafeEqual } from '../bytes/equal.ts'
import type { Kernels } from './types.ts'

/** The JavaScript reference kernels. */
export const jsKernels: Kernels = Object.freeze({
  kind: 'js' as const,
  timingSafeEqual,
})
