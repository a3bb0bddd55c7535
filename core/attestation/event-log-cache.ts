/**
 * A bounded cache of event logs by their bytes, for a server whose agents re-attest with the same
 * log (it changes only at boot): the parse, the replay of every bank and the boot state read for a
 * given set of verified PCRs are computed once per distinct log (core/bytes/bytes-cache.ts: full
 * byte compare on every hit, LRU bound, parse failures not cached). The quote, its nonce and the
 * comparison of the replay with the quoted PCRs run on every attestation.
 */
import { createBytesCache } from '../bytes/bytes-cache.ts'
import type { BootState } from '../eventlog/boot-state.ts'
import { type EventLog, parseEventLog } from '../eventlog/parse.ts'
import type { ReplayResult } from '../eventlog/replay.ts'

/** What is remembered of one log; `replay` and `states` fill on first use. */
export interface EventLogEntry {
  readonly log: EventLog
  replay?: Promise<ReplayResult>
  /** boot states by "verified PCRs|quirks" (at most 8 per log) */
  readonly states: Map<string, Promise<BootState>>
}

export interface EventLogCache {
  /** the entry of `raw`: remembered, or parsed now (throws as parseEventLog) */
  entry(raw: Uint8Array): EventLogEntry
}

export const BOOT_STATES_PER_LOG = 8

export function createEventLogCache(capacity = 64): EventLogCache & { readonly size: number } {
  const cache = createBytesCache<EventLogEntry>(capacity, 'createEventLogCache')
  return {
    entry(raw) {
      return cache.get(raw, '', (own) => ({ log: parseEventLog(own), states: new Map() }))
    },
    get size() {
      return cache.size
    },
  }
}
