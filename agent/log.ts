// JSON-lines logger of the agent: {time, level, msg, ...fields}. Never secrets, nonces or keys.
export type Level = 'debug' | 'info' | 'warn' | 'error'
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export interface Logger {
  log(level: Level, msg: string, fields?: Record<string, unknown>): void
}

export function jsonLogger(write: (line: string) => void, min: Level = 'info', now: () => Date = () => new Date()): Logger {
  return {
    log(level, msg, fields = {}) {
      if (ORDER[level] < ORDER[min]) return
      write(JSON.stringify({ time: now().toISOString(), level, msg, ...fields }))
    },
  }
}
