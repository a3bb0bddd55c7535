import { evaluateBootState } from '../../core/eventlog/boot-state.ts'
import { assertReplayMatches, checkReplay, type PcrCheck } from '../../core/eventlog/check-replay.ts'
import { parseEventLog } from '../../core/eventlog/parse.ts'
import type { QuirkName } from '../../core/eventlog/quirks.ts'
import { replayEventLog } from '../../core/eventlog/replay.ts'
import type { TPML_PCR_SELECTION } from '../../core/tpm2/pcr-selection.ts'

export interface QuoteEventLogSummary {
  verifiedPcrs: readonly number[]
  quirksUsed: readonly QuirkName[]
  secureBoot: string
  pcrs: readonly PcrCheck[]
}

/**
 * `verify quote --eventlog`: the log must replay to the quoted (and signature-checked) PCR values;
 * throws ERR_EVENTLOG_REPLAY_MISMATCH naming the first PCR that does not.
 */
export async function checkEventLogAgainstQuote(
  log: Uint8Array,
  selection: TPML_PCR_SELECTION,
  values: readonly Uint8Array[],
  quirks: readonly QuirkName[],
): Promise<QuoteEventLogSummary> {
  const parsed = parseEventLog(log)
  const expected = selection.flatMap((s) => s.pcrs.map((pcr) => ({ alg: s.hash, pcr })))
  const check = await checkReplay(
    await replayEventLog(parsed),
    expected.map((e, i) => ({ ...e, value: values[i]! })),
    { quirks },
  )
  assertReplayMatches(check)
  const state = await evaluateBootState(parsed, { verifiedPcrs: check.verifiedPcrs, quirksUsed: check.quirksUsed, quirks })
  return { verifiedPcrs: check.verifiedPcrs, quirksUsed: state.quirksUsed, secureBoot: state.secureBoot, pcrs: check.pcrs }
}
