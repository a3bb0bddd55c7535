import { isVerifyError } from '../../core/errors.ts'
import { parseEventLog } from '../../core/eventlog/parse.ts'
import { replayEventLog, replayToJson } from '../../core/eventlog/replay.ts'
import { jsonOutput, parseArgs } from '../args.ts'
import { type Command, EXIT_INVALID, EXIT_OK } from '../command.ts'
import { readInput } from '../files.ts'
import { onePositional } from './eventlog-input.ts'

const USAGE = `vouch eventlog replay LOG [--output json]
  LOG  a TCG event log (/sys/kernel/security/tpm0/binary_bios_measurements), SHA1-legacy or crypto-agile
  prints the PCR values each bank replays to (only PCRs the log extends); JSON: {"banks": {"sha256": {"0": "<hex>", ...}}}`

export const eventlogReplay: Command = {
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, { options: ['output'] })
    const json = jsonOutput(args)
    const bytes = readInput(onePositional(args, 'event log'), 'event log')
    try {
      const result = await replayEventLog(parseEventLog(bytes))
      const banks = replayToJson(result)
      const skipped = result.banks.filter((b) => !b.replayed).map((b) => ({ bank: b.name, reason: b.reason ?? 'unsupported-hash' }))
      if (json) {
        io.out(JSON.stringify(skipped.length ? { banks, notReplayed: skipped } : { banks }))
        return EXIT_OK
      }
      for (const [bank, pcrs] of Object.entries(banks)) {
        io.out(`${bank}:`)
        for (const [i, v] of Object.entries(pcrs)) io.out(`  ${i.padStart(2)} : ${v}`)
      }
      for (const s of skipped) io.out(`${s.bank}: not replayed (${s.reason})`)
      return EXIT_OK
    } catch (e) {
      if (!isVerifyError(e)) throw e
      io.out(json ? JSON.stringify({ valid: false, error: e.toJSON() }) : `event log: INVALID\n  ${e.code}: ${e.message}`)
      return EXIT_INVALID
    }
  },
}
