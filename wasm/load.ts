import type { Kernels } from '../core/kernels/types.ts'
import { jsKernels } from '../core/kernels/js.ts'
import { fromBase64 } from '../core/bytes/encoding.ts'
import { KERNELS_WASM_BASE64 } from './generated/kernels-bytes.ts'

/**
 * A compiled `WebAssembly.Module` (for example `import kernels from 'vouch/wasm/kernels.wasm'` on
 * workerd). Typed structurally so that vouch's declarations need no DOM library.
 */
export type WebAssemblyModule = object

interface KernelExports {
  memory: WebAssembly.Memory
  scratch(size: number): number
  sha256(ptr: number, len: number): number
  sha1(ptr: number, len: number): number
  hmacSha256(keyPtr: number, keyLen: number, msgPtr: number, msgLen: number): number
}

/** The embedded module bytes (Node, Bun, Deno, browsers; not workerd, which needs a compiled module). */
export function kernelsWasmBytes(): Uint8Array<ArrayBuffer> {
  return fromBase64(KERNELS_WASM_BASE64)
}

/**
 * Instantiates the AssemblyScript kernels. Pass a precompiled WebAssembly.Module where the runtime
 * forbids compiling from bytes (workerd: `import mod from 'vouch/wasm/kernels.wasm'`), else bytes
 * (default: the embedded build). Loaded lazily by runtimes/, never at import time.
 */
export async function loadWasmKernels(source: WebAssemblyModule | Uint8Array = kernelsWasmBytes()): Promise<Kernels> {
  if (!(source instanceof WebAssembly.Module) && !(source instanceof Uint8Array)) {
    throw new TypeError('vouch kernels: expected a WebAssembly.Module or the module bytes')
  }
  const module = source instanceof WebAssembly.Module ? source : await WebAssembly.compile(source as Uint8Array<ArrayBuffer>)
  const instance = await WebAssembly.instantiate(module, {
    env: {
      abort() {
        throw new Error('vouch wasm kernel aborted')
      },
    },
  })
  const x = instance.exports as unknown as KernelExports
  // One view of the module's memory, renewed only when the memory grows (a grown memory has a new
  // ArrayBuffer): each call then costs two copies (in, out) and no other typed array.
  let heap = new Uint8Array(x.memory.buffer)
  const memory = (): Uint8Array => (heap.buffer === x.memory.buffer ? heap : (heap = new Uint8Array(x.memory.buffer)))
  return Object.freeze({
    kind: 'wasm' as const,
    sha256(data: Uint8Array) {
      const p = x.scratch(data.length)
      memory().set(data, p)
      const out = x.sha256(p, data.length)
      return memory().slice(out, out + 32)
    },
    sha1(data: Uint8Array) {
      const p = x.scratch(data.length)
      memory().set(data, p)
      const out = x.sha1(p, data.length)
      return memory().slice(out, out + 20)
    },
    hmacSha256(key: Uint8Array, data: Uint8Array) {
      const p = x.scratch(key.length + data.length)
      const m = memory()
      m.set(key, p)
      m.set(data, p + key.length)
      const out = x.hmacSha256(p, key.length, p + key.length, data.length)
      return memory().slice(out, out + 32)
    },
    // The constant-time compare stays the JS twin: a WASM build lost to it at the sizes vouch
    // compares (32-byte activation proofs: 0.18 vs 0.14 µs, bench/kernels.bench.ts), so it was removed.
    timingSafeEqual: jsKernels.timingSafeEqual,
  })
}
