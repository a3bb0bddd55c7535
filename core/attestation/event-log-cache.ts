/**
 * A bounded cache of event logs by their bytes, for a server whose agents re-attest with the same
 * log (it changes only at boot): the parse, the replay of every bank and the boot state read for a
 * given set of verified PCRs are computed once per distinct log (a ParsedBytesCache: full byte
 * compare on every hit, LRU bound, parse failures not cached). The quote, its nonce and the
 * comparison of the replay with the quoted PCRs run on every attestation.
 *
 * Beside it, the same bound of logs by their base64 text as the answer carried it: a log arrives
 * as ~55 KB of base64, and decoding, hashing and comparing its bytes cost more than the rest of a
 * cached boot check. A text is remembered only once its bytes parsed (a canonical text always
 * decodes to the same bytes); a hit compares the whole text, so it can only ever return the entry
 * of exactly that text.
 */
import { createBytesCache } from '../bytes/bytes-cache.ts'
import type { BootState } from '../eventlog/boot-state.ts'
import { type EventLog, parseEventLog } from '../eventlog/parse.ts'
import type { ReplayResult } from '../eventlog/replay.ts'
import type { Platform } from '../platform.ts'
import type { ParsedBytesCache } from '../platform-caches.ts'
import { decodeBounded } from '../attestor/decode.ts'

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

/** Each private copy createEventLogCache parsed (its own bytes, which nothing writes) and its entry, both ways. */
const ENTRY_OF_OWN = new WeakMap<Uint8Array, EventLogEntry>()
const OWN_OF_ENTRY = new WeakMap<EventLogEntry, Uint8Array>()
const parseOwn = (own: Uint8Array): EventLogEntry => {
  const entry = parseEntry(own)
  ENTRY_OF_OWN.set(own, entry)
  OWN_OF_ENTRY.set(entry, own)
  return entry
}

interface TextSlot {
  readonly text: string
  readonly own: Uint8Array
}

/** Logs by base64 text, one slot per sampled hash (a colliding newcomer takes the slot), least recently used out first. */
interface TextIndex {
  get(text: string): Uint8Array | undefined
  set(text: string, own: Uint8Array): void
}

const TEXT_INDEXES = new WeakMap<ParsedBytesCache, TextIndex>()
/** The text each freshly decoded log came from, until its entry is known. */
const RECEIVED_AS = new WeakMap<Uint8Array, string>()

const FNV_PRIME = 0x01000193

/** A slot number from the length, ~64 characters spread over the text and its last 32: picks a slot, never decides a hit. */
function textSlot(text: string): number {
  const n = text.length
  let h = 0x811c9dc5 ^ n
  const step = n > 64 ? Math.floor(n / 64) : 1
  for (let i = 0; i < n; i += step) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME)
  for (let i = n > 32 ? n - 32 : 0; i < n; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME)
  return h >>> 0
}

function createTextIndex(capacity: number): TextIndex {
  const slots = new Map<number, TextSlot>()
  return {
    get(text) {
      const key = textSlot(text)
      const hit = slots.get(key)
      if (hit === undefined || hit.text !== text) return undefined
      slots.delete(key)
      slots.set(key, hit)
      return hit.own
    },
    set(text, own) {
      const key = textSlot(text)
      slots.delete(key)
      slots.set(key, { text, own })
      if (slots.size > capacity) slots.delete(slots.keys().next().value!)
    },
  }
}

export function createEventLogCache(capacity = 64): ParsedBytesCache {
  const cache = createBytesCache<unknown>(capacity, 'createEventLogCache')
  const logs: ParsedBytesCache = {
    // every value under a tag is what that tag's parser returned (ParsedBytesCache's contract)
    get: <T>(bytes: Uint8Array, tag: string, parse: (own: Uint8Array<ArrayBuffer>) => T): T => cache.get(bytes, tag, parse) as T,
    get size() {
      return cache.size
    },
  }
  TEXT_INDEXES.set(logs, createTextIndex(capacity))
  return logs
}

/**
 * The event log of an answer (`v`, base64 text, at most `max` bytes decoded), as decodeBounded
 * gives it. On a platform whose event log cache was made by createEventLogCache, a text whose log
 * parsed before is not decoded again: its bytes are the cache's own copy (read-only, as every
 * cached value).
 */
export function decodeEventLogText(
  v: unknown,
  field: string,
  max: number,
  platform?: Pick<Platform, 'decodeBase64' | 'eventLogs'>,
): Uint8Array {
  const index = platform?.eventLogs ? TEXT_INDEXES.get(platform.eventLogs) : undefined
  if (index === undefined || typeof v !== 'string') return decodeBounded(v, field, max, platform?.decodeBase64)
  const known = index.get(v)
  if (known !== undefined && known.length <= max) return known
  const bytes = decodeBounded(v, field, max, platform?.decodeBase64)
  RECEIVED_AS.set(bytes, v)
  return bytes
}

/** The entry of `raw` through the platform's event log cache when it has one (throws as parseEventLog). */
export function eventLogEntry(raw: Uint8Array, platform: Platform): EventLogEntry {
  const logs = platform.eventLogs
  if (!logs) return parseEntry(raw)
  const index = TEXT_INDEXES.get(logs)
  if (index === undefined) return logs.get(raw, TAG, parseEntry)
  // the cache's own copy (a text hit): its entry without hashing or comparing the bytes again
  const known = ENTRY_OF_OWN.get(raw)
  if (known !== undefined) return known
  const entry = logs.get(raw, TAG, parseOwn)
  const text = RECEIVED_AS.get(raw)
  const own = OWN_OF_ENTRY.get(entry)
  if (text !== undefined && own !== undefined) index.set(text, own)
  return entry
}
