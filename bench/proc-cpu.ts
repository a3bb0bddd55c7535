// CPU time of other processes and of the whole machine, from /proc (Linux), for benches whose work
// runs in several processes (the workers bench: the server's primary and workers, PostgreSQL's
// backends, this load generator). Every figure is in ms; undefined where /proc is missing.
import { readdirSync, readFileSync } from 'node:fs'

const TICK_MS = 10 // USER_HZ is 100 on Linux

function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  } catch {
    return undefined
  }
}

/** utime + stime (ms) of one process, all its threads, without its children. */
export function processCpuMs(pid: number): number | undefined {
  const f = statFields(pid)
  return f ? (Number(f[11]) + Number(f[12])) * TICK_MS : undefined
}

/** The system (kernel) part of {@link processCpuMs}. */
export function processSystemCpuMs(pid: number): number | undefined {
  const f = statFields(pid)
  return f ? Number(f[12]) * TICK_MS : undefined
}

/** The parent's pid. */
export function parentPid(pid: number): number | undefined {
  const f = statFields(pid)
  return f ? Number(f[1]) : undefined
}

/** The pids of a process's children (every thread's). */
export function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((task) => {
      const children = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim()
      return children ? children.split(' ').map(Number) : []
    })
  } catch {
    return []
  }
}

/** utime + stime (ms) of a process and its descendants. */
export function processTreeCpuMs(pid: number): number | undefined {
  const own = processCpuMs(pid)
  if (own === undefined) return undefined
  return childPids(pid).reduce((ms, child) => ms + (processTreeCpuMs(child) ?? 0), own)
}

export interface MachineCpu {
  /** user, nice, system, irq and softirq over every core */
  readonly busyMs: number
  readonly idleMs: number
  /** time the hypervisor ran something else while a vCPU wanted to run */
  readonly stealMs: number
}

/** The machine's CPU time since boot, all cores, from the first line of /proc/stat. */
export function machineCpuMs(): MachineCpu | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!
    const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number) as number[]
    return {
      busyMs: (user! + nice! + system! + irq! + softirq!) * TICK_MS,
      idleMs: (idle! + iowait!) * TICK_MS,
      stealMs: (steal ?? 0) * TICK_MS,
    }
  } catch {
    return undefined
  }
}
