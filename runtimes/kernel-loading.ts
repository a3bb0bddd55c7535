import { jsKernels } from '../core/kernels/js.ts'
import type { Kernels } from '../core/kernels/types.ts'
import { loadWasmKernels, type WebAssemblyModule } from '../wasm/load.ts'

/** Which kernels a platform runs, and why it is not the WASM build when it is not. */
export interface KernelReport {
  /** 'wasm' when the AssemblyScript build loaded, 'js' for the JS twin (same results, slower) */
  readonly kernels: 'wasm' | 'js'
  /** why the WASM build did not load (absent when it did) */
  readonly fallbackReason?: string
}

/** Options shared by the platforms that load the WASM kernels. */
export interface KernelLoadOptions {
  /**
   * the compiled kernels module where the runtime forbids compiling WASM from bytes (workerd:
   * `import kernels from 'vouch/wasm/kernels.wasm'`); default: the bytes embedded in vouch
   */
  readonly wasm?: WebAssemblyModule | Uint8Array
  /**
   * called once when the WASM kernels cannot be loaded and the JS twin is used instead; default:
   * a console.warn naming the reason. Pass `() => {}` to silence it.
   */
  readonly onKernelFallback?: (reason: string) => void
}

/** The WASM kernels when they load, else the JS twin, with a report that says which and why. */
export async function loadKernelsReported(options: KernelLoadOptions = {}): Promise<{ kernels: Kernels; report: KernelReport }> {
  try {
    const kernels = await loadWasmKernels(options.wasm)
    return { kernels, report: Object.freeze({ kernels: 'wasm' as const }) }
  } catch (err) {
    const reason = `vouch: WASM kernels not loaded (${err instanceof Error ? err.message : String(err)}); using the JS twin`
    ;(options.onKernelFallback ?? ((r: string) => console.warn(r)))(reason)
    return { kernels: jsKernels, report: Object.freeze({ kernels: 'js' as const, fallbackReason: reason }) }
  }
}
