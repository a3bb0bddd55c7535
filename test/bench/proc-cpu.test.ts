import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { childPids, machineCpuMs, parentPid, processCpuMs, processTreeCpuMs } from '../../bench/proc-cpu.ts'

describe.skipIf(process.platform !== 'linux')('bench CPU accounting from /proc', () => {
  it("counts a busy child's CPU, finds it among its parent's children, and the machine's time moves on", async () => {
    const machine0 = machineCpuMs()!
    // a child that spins until it has used 300 ms of CPU (however long that takes here), says so,
    // then waits to be killed
    const child = spawn(process.execPath, [
      '-e',
      "while (process.cpuUsage().user + process.cpuUsage().system < 300_000); process.stdout.write('spun'); setInterval(() => {}, 1000)",
    ])
    try {
      await new Promise<void>((r) => child.stdout.once('data', () => r()))
      const pid = child.pid!
      expect(childPids(process.pid)).toContain(pid)
      expect(parentPid(pid)).toBe(process.pid)
      const own = processCpuMs(pid)!
      expect(own).toBeGreaterThanOrEqual(290)
      expect(own).toBeLessThan(5000)
      expect(processTreeCpuMs(process.pid)!).toBeGreaterThanOrEqual(own + processCpuMs(process.pid)!)
      const machine1 = machineCpuMs()!
      expect(machine1.busyMs - machine0.busyMs).toBeGreaterThanOrEqual(290)
      expect(machine1.idleMs).toBeGreaterThanOrEqual(machine0.idleMs)
    } finally {
      child.kill('SIGKILL')
    }
    expect(processCpuMs(2 ** 22 + 12345)).toBeUndefined()
  })
})
