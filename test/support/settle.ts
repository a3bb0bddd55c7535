/**
 * How long a test waits (vi.waitFor) for an event another task or process brings about: a stream
 * opened, a retry made, a handshake verified. vi.waitFor's default, 1 s, failed once on a machine
 * whose two cores other benchmarks kept busy; the wait ends as soon as the event is seen, so only
 * a failing test waits the whole 10 s. The interval stays vi.waitFor's default.
 */
export const SETTLE = { timeout: 10_000 } as const
