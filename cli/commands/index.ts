import type { Command } from '../command.ts'

// One line per command module; keep sorted by path.
export const commands: Command[] = []
