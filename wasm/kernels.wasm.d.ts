/**
 * The AssemblyScript kernels (SHA-256, SHA-1, HMAC-SHA256) as a compiled module, for runtimes that
 * import WASM modules instead of compiling bytes (workerd / Cloudflare Workers, bundlers with a WASM
 * loader): `import kernels from 'vouch/wasm/kernels.wasm'; await createEdgePlatform({ wasm: kernels })`.
 * Typed structurally (a WebAssembly.Module) so that no DOM library is needed.
 */
declare const kernels: object
export default kernels
