import { commands } from './commands/index.ts'
import { UsageError } from './args.ts'
import { EXIT_USAGE, type Command, type Io } from './command.ts'
import { isVerifyError } from '../core/errors.ts'

const stdio: Io = {
  out: (line) => process.stdout.write(line + '\n'),
  err: (line) => process.stderr.write(line + '\n'),
}

export function helpText(): string {
  const width = Math.max(...commands.map((c) => c.path.join(' ').length), 10)
  const lines = [
    'vouch: verify hardware-rooted machine identity (TPM 2.0 evidence, tpm_devid attestation, SPIFFE SVIDs)',
    '',
    'usage: vouch <command> [options]',
    '',
    'commands:',
    ...[...commands]
      .sort((a, b) => a.path.join(' ').localeCompare(b.path.join(' ')))
      .map((c) => `  ${c.path.join(' ').padEnd(width)}  ${c.summary}`),
    '',
    'Run `vouch <command> --help` for its options. Exit codes: 0 valid, 1 invalid, 2 usage or unreadable input.',
  ]
  return lines.join('\n')
}

function find(argv: string[]): { command: Command; rest: string[] } | undefined {
  let best: { command: Command; rest: string[] } | undefined
  for (const c of commands) {
    if (c.path.every((w, i) => argv[i] === w) && (!best || c.path.length > best.command.path.length)) {
      best = { command: c, rest: argv.slice(c.path.length) }
    }
  }
  return best
}

export async function main(argv: string[], io: Io = stdio): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    io.out(helpText())
    return argv.length === 0 ? EXIT_USAGE : 0
  }
  if (argv[0] === '--version') {
    io.out('vouch 0.1.0')
    return 0
  }
  const hit = find(argv)
  if (!hit) {
    io.err(`vouch: unknown command "${argv.join(' ')}"; run vouch --help`)
    return EXIT_USAGE
  }
  if (hit.rest.includes('--help') || hit.rest.includes('-h')) {
    io.out(`${hit.command.summary}\n\nusage: ${hit.command.usage}`)
    return 0
  }
  try {
    return await hit.command.run(hit.rest, io)
  } catch (e) {
    if (e instanceof UsageError) {
      io.err(`vouch ${hit.command.path.join(' ')}: ${e.message}\nusage: ${hit.command.usage}`)
      return EXIT_USAGE
    }
    if (isVerifyError(e)) {
      io.err(`vouch ${hit.command.path.join(' ')}: ${e.code}: ${e.message}`)
      return 1
    }
    const msg = e instanceof Error ? e.message : String(e)
    io.err(`vouch ${hit.command.path.join(' ')}: ${msg}`)
    return EXIT_USAGE
  }
}
