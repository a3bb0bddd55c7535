/**
 * `vouch`: finds the command in the table (cli/commands/index.ts) and runs it. Only the table is
 * imported here; a command's module, and with it core/, server/ or agent/, loads when that command
 * runs, so `vouch --help` and `vouch --version` start at the cost of Node itself.
 */
import { readFileSync } from 'node:fs'
import { CLI_ERROR_CODES, type CliErrorCode, UsageError, wantsJson } from './args.ts'
import { type Command, type CommandEntry, EXIT_INVALID, EXIT_OK, EXIT_USAGE, type Io } from './command.ts'
import { commands } from './commands/index.ts'
import { describeFsError, isFsError } from './fs-errors.ts'

const stdio: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
}

const name = (path: readonly string[]) => path.join(' ')

function table(entries: readonly CommandEntry[]): string[] {
  const width = Math.max(...entries.map((c) => name(c.path).length), 10)
  return [...entries].sort((a, b) => name(a.path).localeCompare(name(b.path))).map((c) => `  ${name(c.path).padEnd(width)}  ${c.summary}`)
}

export function helpText(): string {
  return [
    'vouch: verify hardware-rooted machine identity (TPM 2.0 evidence, tpm_devid attestation, SPIFFE SVIDs)',
    '',
    'usage: vouch <command> [options]',
    '       vouch --version | -v',
    '',
    'commands:',
    ...table(commands),
    '',
    'Run `vouch <command> --help` for its options, `vouch <group> --help` (e.g. vouch verify --help) for a group.',
    'Exit codes: 0 valid, 1 invalid, 2 usage or unreadable input. With --output json, errors are',
    'printed as {"error":{"code":"ERR_...","message":"..."}} on stdout.',
  ].join('\n')
}

/** The commands under `prefix` (e.g. ['verify'] or ['agent']), the prefix itself excluded. */
function subcommands(prefix: readonly string[]): CommandEntry[] {
  return commands.filter((c) => c.path.length > prefix.length && prefix.every((w, i) => c.path[i] === w))
}

function groupHelp(prefix: readonly string[]): string {
  return [
    `vouch ${name(prefix)}: commands`,
    '',
    ...table(subcommands(prefix)),
    '',
    `Run \`vouch ${name(prefix)} <command> --help\` for its options.`,
  ].join('\n')
}

function commandHelp(entry: CommandEntry, command: Command): string {
  const lines = [`vouch ${name(entry.path)}: ${entry.summary}`, '', `usage: ${command.usage}`]
  const more = command.help?.()
  if (more) lines.push('', more)
  const subs = subcommands(entry.path)
  if (subs.length > 0) lines.push('', 'commands:', ...table(subs))
  return lines.join('\n')
}

/** The version in the package.json above this file (cli/ in the sources, dist/cli/ when built). */
export function packageVersion(): string {
  for (let url = new URL('../package.json', import.meta.url), i = 0; i < 4; url = new URL('../../package.json', url), i++) {
    try {
      const pkg = JSON.parse(readFileSync(url, 'utf8')) as { name?: unknown; version?: unknown }
      if (pkg.name === 'vouch' && typeof pkg.version === 'string') return pkg.version
    } catch {
      // not here: one directory up
    }
  }
  return 'unknown'
}

function find(argv: readonly string[]): { entry: CommandEntry; rest: string[] } | undefined {
  let best: { entry: CommandEntry; rest: string[] } | undefined
  for (const c of commands) {
    if (c.path.every((w, i) => argv[i] === w) && (!best || c.path.length > best.entry.path.length)) {
      best = { entry: c, rest: argv.slice(c.path.length) }
    }
  }
  return best
}

/** The words of argv that name a group of commands (`verify`), if any. */
function findGroup(argv: readonly string[]): string[] | undefined {
  const words: string[] = []
  for (const w of argv) {
    if (w.startsWith('-') || subcommands([...words, w]).length === 0) break
    words.push(w)
  }
  return words.length > 0 ? words : undefined
}

const isHelp = (a: string) => a === '--help' || a === '-h'

/** Reports an error the way the caller asked: one text line on stderr, or a JSON object on stdout. */
function report(io: Io, json: boolean, where: string, error: { code: string; message: string }, usage?: string): void {
  if (json) io.out(JSON.stringify({ error }))
  else io.err(`${where}: ${error.code in CLI_ERROR_CODES ? '' : `${error.code}: `}${error.message}${usage ? `\nusage: ${usage}` : ''}`)
}

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  const json = wantsJson(argv)
  if (argv.length === 0 || isHelp(argv[0]!) || argv[0] === 'help') {
    if (argv.length === 0) io.err(helpText())
    else io.out(helpText())
    return argv.length === 0 ? EXIT_USAGE : EXIT_OK
  }
  if (argv[0] === '--version' || argv[0] === '-v') {
    io.out(json ? JSON.stringify({ version: packageVersion() }) : `vouch ${packageVersion()}`)
    return EXIT_OK
  }
  const hit = find(argv)
  if (!hit) {
    const group = findGroup(argv)
    if (group && argv.length === group.length + 1 && isHelp(argv[group.length]!)) {
      io.out(groupHelp(group))
      return EXIT_OK
    }
    const next = group ? argv[group.length] : undefined
    const named = next !== undefined && !next.startsWith('-')
    if (group && !named && !json) {
      io.err(groupHelp(group))
      return EXIT_USAGE
    }
    const message = !group
      ? `unknown command "${argv[0]}"; run vouch --help`
      : named
        ? `unknown command "${name([...group, next])}"; run vouch ${name(group)} --help`
        : `vouch ${name(group)} needs a command: ${subcommands(group)
            .map((c) => name(c.path.slice(group.length)))
            .join(', ')}`
    report(io, json, 'vouch', { code: 'ERR_USAGE', message })
    return EXIT_USAGE
  }
  const where = `vouch ${name(hit.entry.path)}`
  let command: Command | undefined
  try {
    command = await hit.entry.load()
    if (hit.rest.some(isHelp)) {
      io.out(commandHelp(hit.entry, command))
      return EXIT_OK
    }
    return await command.run(hit.rest, io)
  } catch (e) {
    if (e instanceof UsageError) {
      report(io, json, where, { code: e.code, message: e.message }, e.code === 'ERR_USAGE' ? command?.usage : undefined)
      return EXIT_USAGE
    }
    const { isVerifyError } = await import('../core/errors.ts')
    if (isVerifyError(e)) {
      report(io, json, where, e.toJSON())
      return EXIT_INVALID
    }
    const { code, message } = describeFailure(e)
    report(io, json, where, { code, message })
    return EXIT_USAGE
  }
}

/** Any other failure in one line: a file system error names its path, never a stack. */
function describeFailure(e: unknown): { code: CliErrorCode; message: string } {
  if (isFsError(e)) {
    const reading = e.syscall === 'open' || e.syscall === 'read' || e.syscall === 'scandir'
    return {
      code: reading ? 'ERR_FILE_UNREADABLE' : 'ERR_FAILED',
      message: `${e.syscall === 'open' ? 'read' : e.syscall} ${e.path}: ${describeFsError(e)}`,
    }
  }
  return { code: 'ERR_FAILED', message: e instanceof Error ? e.message : String(e) }
}
