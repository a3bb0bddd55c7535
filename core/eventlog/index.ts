// Public API of core/eventlog: parse a TCG event log, replay it, check it against quoted PCRs,
// decode its events and read the boot state a policy evaluates.
export { EV, LOG_ALG, bankId, bankName, eventTypeName } from './event-types.ts'
export { type EventDigest, type EventLog, type ParseEventLogOptions, type SpecIdEvent, type TcgEvent, parseEventLog } from './parse.ts'
export { type ReplayBank, type ReplayResult, replayEventLog, replayToJson } from './replay.ts'
export {
  type CheckReplayOptions,
  type ExpectedPcr,
  type PcrCheck,
  type PcrCheckStatus,
  type ReplayCheck,
  assertReplayMatches,
  checkReplay,
} from './check-replay.ts'
export { QUIRKS, type QuirkName, isQuirkName } from './quirks.ts'
export { type DecodedEvent, decodeEvent } from './decode-event.ts'
export {
  type Authority,
  type BootApplication,
  type BootState,
  type EvaluateBootStateOptions,
  type SignatureDatabase,
  type SignatureEntry,
  evaluateBootState,
} from './boot-state.ts'
export { type EfiSignatureData, parseEfiSignatureLists } from './efi-signature-list.ts'
export { type UefiVariableData, parseUefiVariableData } from './efi-variable.ts'
export { formatDevicePath, parseUefiImageLoadEvent } from './device-path.ts'
export { parseUefiGptData } from './gpt.ts'
