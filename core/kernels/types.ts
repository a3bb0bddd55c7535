/**
 * The seam for hot loops. core/ calls kernels through this interface; core/kernels/js.ts is the
 * reference (JS twin) and wasm/ provides a WebAssembly implementation that must match it bit for
 * bit (test/wasm/parity.test.ts). core/ never imports wasm/: runtimes/ inject the WASM kernels
 * into the Platform. Kernels are synchronous: on the Web Crypto path they save an await per call.
 */
export interface Kernels {
  /** 'js' for the twin, 'wasm' when the AssemblyScript build is loaded */
  readonly kind: 'js' | 'wasm'
  /** constant-time equality: time depends only on the lengths */
  timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean
  sha256(data: Uint8Array): Uint8Array
  /** fingerprints only */
  sha1(data: Uint8Array): Uint8Array
  hmacSha256(key: Uint8Array, data: Uint8Array): Uint8Array
}
