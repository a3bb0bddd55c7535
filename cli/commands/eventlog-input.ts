import { isQuirkName, QUIRKS, type QuirkName } from '../../core/eventlog/quirks.ts'
import { type ParsedArgs, option, UsageError } from '../args.ts'

/** `--quirk a,b`: the firmware quirks a command tolerates (none by default). */
export function quirksOption(args: ParsedArgs): QuirkName[] {
  const text = option(args, 'quirk')
  if (text === undefined) return []
  const names = text.split(',').filter((s) => s !== '')
  for (const n of names) if (!isQuirkName(n)) throw new UsageError(`--quirk ${n}: expected one of ${QUIRKS.join(', ')}`)
  return names as QuirkName[]
}

export function onePositional(args: ParsedArgs, what: string): string {
  if (args.positionals.length !== 1) throw new UsageError(`expected one ${what}, got ${args.positionals.length} arguments`)
  return args.positionals[0]!
}
