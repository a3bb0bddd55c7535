import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { compileKernels, renderEmbedded } from '../../wasm/build.ts'

// The committed wasm/kernels.wasm and its embedded base64 twin must be exactly what asc builds
// from wasm/assembly today (run `npm run build:wasm` after changing a kernel).
describe('wasm build', () => {
  it('committed kernels equal a fresh asc build', () => {
    const fresh = compileKernels()
    expect(readFileSync(new URL('../../wasm/kernels.wasm', import.meta.url)).equals(fresh)).toBe(true)
    expect(readFileSync(new URL('../../wasm/generated/kernels-bytes.ts', import.meta.url), 'utf8')).toBe(renderEmbedded(fresh))
  })
})
