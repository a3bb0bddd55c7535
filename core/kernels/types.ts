/**
 * The seam for hot loops. core/ calls kernels through this interface; core/kernels/js.ts is the
 * reference (JS twin) and wasm/ provides a WebAssembly implementation that must match it bit for
 * bit. core/ never imports wasm/: runtimes/ inject the WASM kernels into the Platform.
 */
export interface Kernels {
  /** 'js' for the twin, 'wasm' when the AssemblyScript build is loaded */
  readonly kind: 'js' | 'wasm'
  /** constant-time equality: time depends only on the lengths */
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean
}
