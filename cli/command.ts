/** What every `vouch` subcommand provides. Exit codes: 0 valid/ok, 1 invalid, 2 usage or unreadable input. */
export interface Io {
  out(line: string): void
  err(line: string): void
}

export interface Command {
  /** words after `vouch`, e.g. ['verify', 'chain'] */
  readonly path: readonly string[]
  readonly summary: string
  /** the usage line(s) shown by --help */
  readonly usage: string
  run(argv: string[], io: Io): Promise<number>
}

export const EXIT_OK = 0
export const EXIT_INVALID = 1
export const EXIT_USAGE = 2
