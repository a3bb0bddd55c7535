import { toHex } from '../../core/bytes/encoding.ts'
import { isVerifyError } from '../../core/errors.ts'
import { type BootState, evaluateBootState } from '../../core/eventlog/boot-state.ts'
import { decodeEvent } from '../../core/eventlog/decode-event.ts'
import { bankName, eventTypeName } from '../../core/eventlog/event-types.ts'
import { parseEventLog } from '../../core/eventlog/parse.ts'
import { replayEventLog } from '../../core/eventlog/replay.ts'
import { printable } from '../../core/eventlog/text.ts'
import { jsonOutput, parseArgs } from '../args.ts'
import { type Command, EXIT_INVALID, EXIT_OK } from '../command.ts'
import { readInput } from '../files.ts'
import { onePositional, quirksOption } from './eventlog-input.ts'

const USAGE = `vouch eventlog show LOG [--quirk NAME[,NAME]] [--output json]
  LOG      a TCG event log, SHA1-legacy or crypto-agile
  --quirk  firmware quirks to tolerate while reading events (shim-authority-size)
  prints every event (PCR, type, digests, decoded data) and the boot state read from them.
  Without a quote nothing is checked against a TPM: every PCR the log extends is taken as verified.`

function bootStateLines(s: BootState): string[] {
  const db = (name: string, d: BootState['db']) =>
    d
      ? [
          `  ${name}: ${d.certificates.length} certificates, hashes ${JSON.stringify(d.hashCounts)}`,
          ...d.certificates.map((c) => `    ${c.sha256} ${c.subject ?? '<unparsed certificate>'}`),
        ]
      : [`  ${name}: not measured`]
  return [
    'boot state:',
    `  secure boot: ${s.secureBoot}`,
    ...db('PK', s.pk),
    ...db('KEK', s.kek),
    ...db('db', s.db),
    ...db('dbx', s.dbx),
    `  authorities: ${s.authorities.length}`,
    ...s.authorities.map((a) => `    event ${a.event} ${a.variable}: ${a.sha256 ?? a.hash} ${a.subject ?? ''}`),
    `  boot applications: ${s.bootApplications.length}`,
    ...s.bootApplications.map(
      (b) => `    event ${b.event} ${b.digests.sha256 ?? b.digests.sha1 ?? Object.values(b.digests)[0]} ${printable(b.devicePath ?? '')}`,
    ),
    ...s.kernelCommandLines.map((c) => `  kernel command line: ${printable(c)}`),
    ...(s.shim.sbatLevel !== undefined ? [`  shim SbatLevel: ${printable(s.shim.sbatLevel)}`] : []),
    ...s.shim.mokLists.map((m) => `  shim ${m.name}: ${m.sha256 ?? ''}`),
    ...(s.quirksUsed.length ? [`  quirks used: ${s.quirksUsed.join(', ')}`] : []),
    ...s.uncounted.map((u) => `  not counted: event ${u.event} (PCR ${u.pcr}): ${u.reason}`),
  ]
}

export const eventlogShow: Command = {
  usage: USAGE,
  async run(argv, io) {
    const args = parseArgs(argv, { options: ['output', 'quirk'] })
    const json = jsonOutput(args)
    const quirks = quirksOption(args)
    const bytes = readInput(onePositional(args, 'event log'), 'event log')
    try {
      const log = parseEventLog(bytes)
      const replay = await replayEventLog(log)
      const bootState = await evaluateBootState(log, { verifiedPcrs: replay.extendedPcrs, quirks })
      const events = log.events.map((e) => {
        const d = decodeEvent(e)
        return {
          index: e.index,
          pcr: e.pcr,
          type: eventTypeName(e.type),
          digests: Object.fromEntries(e.digests.map((x) => [bankName(x.alg), toHex(x.digest)])),
          size: e.data.length,
          summary: d.summary,
          ...(Object.keys(d.fields).length ? { fields: d.fields } : {}),
          ...(d.error ? { error: d.error } : {}),
        }
      })
      if (json) {
        io.out(JSON.stringify({ format: log.format, banks: log.banks.map(bankName), pcrsVerified: false, events, bootState }))
        return EXIT_OK
      }
      io.out(`format: ${log.format}, banks: ${log.banks.map(bankName).join(', ')}, ${events.length} events`)
      for (const e of events) {
        io.out(`${String(e.index).padStart(4)}  PCR ${String(e.pcr).padStart(2)}  ${e.type}  ${printable(e.summary).slice(0, 160)}`)
        for (const [bank, d] of Object.entries(e.digests)) io.out(`        ${bank}: ${d}`)
      }
      io.out('(no quote: every PCR the log extends is taken as verified)')
      for (const line of bootStateLines(bootState)) io.out(line)
      return EXIT_OK
    } catch (e) {
      if (!isVerifyError(e)) throw e
      io.out(json ? JSON.stringify({ valid: false, error: e.toJSON() }) : `event log: INVALID\n  ${e.code}: ${e.message}`)
      return EXIT_INVALID
    }
  },
}
