// vouch/eventlog: TCG PC Client event logs (SHA1-legacy TCG_PCR_EVENT and crypto-agile
// TCG_PCR_EVENT2): parse, replay every bank, check against quoted PCR values with named firmware
// quirks, decode the events a boot policy needs, and read the boot state (docs/eventlog.md).
export * from '../eventlog/index.ts'
export { EventLogError } from '../errors.ts'
