/**
 * A bounded cache of event logs by their bytes, for a server whose agents re-attest with the same
 * log (it changes only at boot): the parse, the replay of every bank and the boot state read for a
 * given set of verified PCRs are computed once per distinct log (a ParsedBytesCache: full byte
 * compare on every hit, LRU bound, parse failures not cached). The quote, its nonce and the
 * comparison of the replay with the quoted PCRs run on every attestation.
 */
import { createBytesCache } from '../bytes/bytes-cache.ts'
import type { BootState } from '../eventlog/boot-state.ts'
import { type EventLog, parseEventLog } from '../eventlog/parse.ts'
import type { ReplayResult } from '../eventlog/replay.ts'
import type { Platform } from '../platform.ts'
import type { ParsedBytesCache } from '../platform-caches.ts'

/** What is remembered of one log; `replay` and `states` fill on first use. */
export interface EventLogEntry {
  readonly log: EventLog
  replay?: Promise<ReplayResult>
  /** boot states by "verified PCRs|quirks" (at most BOOT_STATES_PER_LOG per log) */
  readonly states: Map<string, Promise<BootState>>
}

export const BOOT_STATES_PER_LOG = 8

// 'l' keeps event log entries apart from any other parser's in a shared ParsedBytesCache
const TAG = 'l'

const parseEntry = (own: Uint8Array): EventLogEntry => ({ log: parseEventLog(own), states: new Map() })

export function createEventLogCache(capacity = 64): ParsedBytesCache {
  const cache = createBytesCache<unknown>(capacity, 'createEventLogCache')
  return {
    // every value under a tag is what that tag's parser returned (ParsedBytesCache's contract)
    get: <T>(bytes: Uint8Array, tag: string, parse: (own: Uint8Array<ArrayBuffer>) => T): T => cache.get(bytes, tag, parse) as T,
    get size() {
      return cache.size
    },
  }
}

/** The entry of `raw` through the platform's event log cache when it has one (throws as parseEventLog). */
export function eventLogEntry(raw: Uint8Array, platform: Platform): EventLogEntry {
  return platform.eventLogs ? platform.eventLogs.get(raw, TAG, parseEntry) : parseEntry(raw)
}
