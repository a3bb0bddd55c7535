/**
 * The JSR package's `./wasm/kernels.wasm`: the kernels as a compiled WebAssembly.Module, the same
 * contract as the npm subpath (which is the .wasm file itself, for workerd and bundlers). JSR carries
 * TypeScript, and Deno's own `.wasm` imports give a module's instance exports rather than the
 * module, so this entry compiles the embedded bytes (2.7 kB, synchronously, when imported):
 * `import kernels from 'jsr:@vouch/vouch/wasm/kernels.wasm'; await createEdgePlatform({ wasm: kernels })`.
 */
import { kernelsWasmBytes, type WebAssemblyModule } from './load.ts'

const kernels: WebAssemblyModule = new WebAssembly.Module(kernelsWasmBytes())
export default kernels
