/** What every `vouch` subcommand provides. Exit codes: 0 valid/ok, 1 invalid, 2 usage or unreadable input. */
export interface Io {
  out(line: string): void
  err(line: string): void
}

/**
 * One line of the command table (cli/commands/index.ts): enough to find, list and describe a
 * command without loading it. `load` imports the command's module, only when it runs or shows
 * its own help, so `vouch --help` and every command start without the others' imports.
 */
export interface CommandEntry {
  /** words after `vouch`, e.g. ['verify', 'chain'] */
  readonly path: readonly string[]
  readonly summary: string
  load(): Promise<Command>
}

/** A command's module exports one of these. */
export interface Command {
  /** the usage line(s) shown by --help */
  readonly usage: string
  /** more --help text after the usage: config keys, environment variables */
  help?(): string
  run(argv: string[], io: Io): Promise<number>
}

export const EXIT_OK = 0
export const EXIT_INVALID = 1
export const EXIT_USAGE = 2
