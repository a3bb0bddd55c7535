/** A small, strict argument parser: `--name value`, `--name=value`, `--flag`, positionals. */
export interface ParsedArgs {
  options: Map<string, string | true>
  positionals: string[]
}

/**
 * The stable codes of the errors the `vouch` command reports itself (exit 2), besides the
 * VerifyError codes of core/errors.ts (exit 1). Under `--output json` they are printed as
 * `{"error":{"code":...,"message":...}}` on stdout (docs/cli.md).
 */
export const CLI_ERROR_CODES = {
  ERR_USAGE: 'the command line is wrong: an unknown command or option, a missing or malformed value',
  ERR_FILE_UNREADABLE: 'a file named on the command line or in a config file cannot be read',
  ERR_CONFIG: 'a config file does not parse or a key in it is invalid',
  ERR_FAILED: 'the command could not finish (TPM, network or file system); the message says why',
} as const

export type CliErrorCode = keyof typeof CLI_ERROR_CODES

/** An error the command line or its files caused: exit 2, with a stable code. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly code: CliErrorCode = 'ERR_USAGE',
  ) {
    super(message)
  }
}

/** True when the arguments ask for `--output json` (checked before a command parses them, for its errors). */
export function wantsJson(argv: readonly string[]): boolean {
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--') return false
    if (argv[i] === '--output=json' || (argv[i] === '--output' && argv[i + 1] === 'json')) return true
  }
  return false
}

export function parseArgs(argv: string[], spec: { flags?: string[]; options?: string[] }): ParsedArgs {
  const flags = new Set(spec.flags ?? [])
  const opts = new Set(spec.options ?? [])
  const options = new Map<string, string | true>()
  const positionals: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--') {
      positionals.push(...argv.slice(i + 1))
      break
    }
    if (!a.startsWith('--') || a === '--') {
      positionals.push(a)
      continue
    }
    const eq = a.indexOf('=')
    const name = a.slice(2, eq < 0 ? undefined : eq)
    if (flags.has(name)) {
      if (eq >= 0) throw new UsageError(`--${name} takes no value`)
      options.set(name, true)
    } else if (opts.has(name)) {
      const value = eq >= 0 ? a.slice(eq + 1) : argv[++i]
      if (value === undefined) throw new UsageError(`--${name} needs a value`)
      options.set(name, value)
    } else {
      throw new UsageError(`unknown option --${name}`)
    }
  }
  return { options, positionals }
}

export function option(args: ParsedArgs, name: string): string | undefined {
  const v = args.options.get(name)
  return typeof v === 'string' ? v : undefined
}

export function requireOption(args: ParsedArgs, name: string): string {
  const v = option(args, name)
  if (v === undefined) throw new UsageError(`--${name} is required`)
  return v
}

/** `--output json|text` (default text): true when JSON was asked for. */
export function jsonOutput(args: ParsedArgs): boolean {
  const output = option(args, 'output')
  if (output !== undefined && output !== 'json' && output !== 'text') throw new UsageError('--output must be json or text')
  return output === 'json'
}
