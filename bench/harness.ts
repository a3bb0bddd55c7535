// A small harness for async work with N operations in flight, the thing benchmark.js cannot
// measure (see docs/decisions.md). Each measurement: warm-up (a time and an operation count, see
// WarmupOptions), then `samples` windows of `sampleMs`; reports the median ops/s with the [min,
// max] spread of the windows and the CPU microseconds per op (user+sys over all threads, so
// thread-pool work counts).

export interface Measurement {
  name: string
  concurrency: number
  opsPerSec: number
  spread: [number, number]
  cpuUsPerOp: number
  /** median wall microseconds per op at this concurrency (1e6 / opsPerSec * concurrency) */
  latencyUs: number
  /** ops/s of each window, in order (with measureInterleaved: one per round) */
  samples: number[]
}

export interface MeasureOptions extends WarmupOptions {
  concurrency?: number
  sampleMs?: number
  samples?: number
}

/**
 * Warm-up before the first window: at least `warmupMs` AND at least `warmupOps` operations (so
 * the JIT reaches its steady state: vouch's attestation path keeps V8's optimizing compiler busy
 * for its first ~4,000 operations, 138 optimizations in operations 500-1,500 of the boot row, and on
 * a loaded machine 100 ms was 20 operations), but never longer than `warmupMaxMs`.
 */
export interface WarmupOptions {
  /** default 100 */
  warmupMs?: number
  /** default 2000, or WARMUP_OPS */
  warmupOps?: number
  /** default 8000 (or warmupMs when longer), or WARMUP_MAX_MS */
  warmupMaxMs?: number
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2
}

async function window(fn: () => unknown, concurrency: number, ms: number): Promise<{ ops: number; wallMs: number; cpuUs: number }> {
  let ops = 0
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const deadline = t0 + ms
  const worker = async () => {
    while (performance.now() < deadline) {
      await fn()
      ops++
    }
  }
  await Promise.all(Array.from({ length: concurrency }, worker))
  const wallMs = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return { ops, wallMs, cpuUs: cpu.user + cpu.system }
}

/** A function warmed up once is given one short window before later measurements (its code is optimized already). */
const warmed = new WeakSet<() => unknown>()

async function warmUp(fn: () => unknown, concurrency: number, options: WarmupOptions): Promise<void> {
  const warmupMs = options.warmupMs ?? 100
  if (warmed.has(fn)) {
    await window(fn, concurrency, Math.min(warmupMs, 100))
    return
  }
  const warmupOps = options.warmupOps ?? Number(process.env.WARMUP_OPS ?? 2000)
  const maxMs = Math.max(warmupMs, options.warmupMaxMs ?? Number(process.env.WARMUP_MAX_MS ?? 8000))
  const t0 = performance.now()
  let ops = 0
  do {
    ops += (await window(fn, concurrency, Math.min(100, warmupMs))).ops
  } while ((ops < warmupOps || performance.now() - t0 < warmupMs) && performance.now() - t0 < maxMs)
  warmed.add(fn)
}

export async function measure(name: string, fn: () => unknown, options: MeasureOptions = {}): Promise<Measurement> {
  const { concurrency = 1, sampleMs = Number(process.env.SAMPLE_MS ?? 250), samples = Number(process.env.SAMPLES ?? 5) } = options
  await warmUp(fn, concurrency, options)
  const rates: number[] = []
  const cpus: number[] = []
  for (let i = 0; i < samples; i++) {
    const w = await window(fn, concurrency, sampleMs)
    rates.push((w.ops / w.wallMs) * 1000)
    cpus.push(w.cpuUs / Math.max(1, w.ops))
  }
  return summarize(name, concurrency, rates, cpus)
}

function summarize(name: string, concurrency: number, rates: number[], cpus: number[]): Measurement {
  const opsPerSec = median(rates)
  return {
    name,
    concurrency,
    opsPerSec,
    spread: [Math.min(...rates), Math.max(...rates)],
    cpuUsPerOp: median(cpus),
    latencyUs: (1e6 / opsPerSec) * concurrency,
    samples: rates,
  }
}

export interface Contender {
  readonly name: string
  readonly fn: () => unknown
  readonly concurrency?: number
}

/**
 * Measures several contenders in rounds: each round gives every contender one window, in turn,
 * so all of them see the same machine (a shared, noisy host drifts by tens of percent within
 * seconds). Compare them with {@link pairedRatio}, the median of the per-round ratios.
 */
export async function measureInterleaved(
  contenders: readonly Contender[],
  options: {
    rounds?: number
    sampleMs?: number
    /** called just before and just after each measured window (for per-window accounting: /proc CPU of other processes) */
    onWindow?: (contender: number, edge: 'start' | 'end') => void
  } & WarmupOptions = {},
): Promise<Measurement[]> {
  const { rounds = Number(process.env.ROUNDS ?? 7), sampleMs = Number(process.env.SAMPLE_MS ?? 250) } = options
  for (const c of contenders) await warmUp(c.fn, c.concurrency ?? 1, options)
  const rates = contenders.map(() => [] as number[])
  const cpus = contenders.map(() => [] as number[])
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < contenders.length; i++) {
      options.onWindow?.(i, 'start')
      const w = await window(contenders[i]!.fn, contenders[i]!.concurrency ?? 1, sampleMs)
      options.onWindow?.(i, 'end')
      rates[i]!.push((w.ops / w.wallMs) * 1000)
      cpus[i]!.push(w.cpuUs / Math.max(1, w.ops))
    }
  }
  return contenders.map((c, i) => summarize(c.name, c.concurrency ?? 1, rates[i]!, cpus[i]!))
}

/** a / b as the median of per-round ratios (both from one measureInterleaved call). */
export function pairedRatio(a: Measurement, b: Measurement): number {
  if (a.samples.length !== b.samples.length) return a.opsPerSec / b.opsPerSec
  return median(a.samples.map((x, i) => x / b.samples[i]!))
}

export function runtimeName(): string {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } }
  if (g.Bun) return `bun ${g.Bun.version}`
  if (g.Deno) return `deno ${g.Deno.version.deno}`
  return `node ${process.versions.node}`
}
