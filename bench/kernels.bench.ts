// Kernel micro-benchmarks with benchmark.js (synchronous ops are what it measures well): each
// kernel's WASM build against its JS twin and node:crypto, plus the awaited Web Crypto digest the
// kernels replace on the Web Crypto-only path. `npm run bench:kernels`. A kernel that does not win
// is removed: the WASM constant-time compare lost to its JS twin at 34 bytes (0.18 vs 0.14 µs,
// 2026-11-23) and was dropped; the WASM kernels use the JS compare.
import Benchmark from 'benchmark'
import { createHash, createHmac } from 'node:crypto'
import { jsKernels } from '../core/kernels/js.ts'
import { loadWasmKernels } from '../wasm/load.ts'
import { runtimeName } from './harness.ts'

export interface KernelResult {
  kernel: string
  size: number
  impl: 'js' | 'wasm' | 'node:crypto'
  opsPerSec: number
  rme: number
}

function suite(cases: [string, () => unknown][]): Promise<Map<string, Benchmark>> {
  return new Promise((resolve) => {
    const s = new Benchmark.Suite()
    for (const [name, fn] of cases) s.add(name, fn, { minSamples: 10, maxTime: Number(process.env.KERNEL_MAX_TIME ?? 0.4) })
    const out = new Map<string, Benchmark>()
    s.on('cycle', (e: Benchmark.Event) => {
      const b = e.target as unknown as Benchmark
      out.set(b.name!, b)
    })
    s.on('complete', () => resolve(out))
    s.run({ async: true })
  })
}

export async function benchKernels(log: (line: string) => void = console.log): Promise<KernelResult[]> {
  const wasm = await loadWasmKernels()
  const results: KernelResult[] = []
  for (const size of [34, 300, 1024]) {
    const data = new Uint8Array(size).map((_, i) => i & 255)
    const key = new Uint8Array(32).fill(9)
    const kernels: [string, Record<KernelResult['impl'], () => unknown>][] = [
      [
        'sha256',
        {
          js: () => jsKernels.sha256(data),
          wasm: () => wasm.sha256(data),
          'node:crypto': () => createHash('sha256').update(data).digest(),
        },
      ],
      [
        'sha1',
        { js: () => jsKernels.sha1(data), wasm: () => wasm.sha1(data), 'node:crypto': () => createHash('sha1').update(data).digest() },
      ],
      [
        'hmacSha256',
        {
          js: () => jsKernels.hmacSha256(key, data),
          wasm: () => wasm.hmacSha256(key, data),
          'node:crypto': () => createHmac('sha256', key).update(data).digest(),
        },
      ],
    ]
    for (const [kernel, impls] of kernels) {
      const cases = Object.entries(impls) as [KernelResult['impl'], () => unknown][]
      const done = await suite(cases.map(([impl, fn]) => [impl, fn]))
      for (const [impl, b] of done) {
        results.push({ kernel, size, impl: impl as KernelResult['impl'], opsPerSec: b.hz, rme: b.stats.rme })
      }
      const row = [...done].map(([impl, b]) => `${impl} ${(1e6 / b.hz).toFixed(2)} µs`).join('  ')
      log(`  ${kernel.padEnd(16)} ${String(size).padStart(5)} B  ${row}`)
    }
  }
  return results
}

if (import.meta.url === `file://${process.argv[1]}`) {
  console.log(`kernels on ${runtimeName()}`)
  await benchKernels()
}
