import { ByteReader } from '../bytes/reader.ts'
import { type ErrorCode, EventLogError } from '../errors.ts'

/**
 * A little-endian ByteReader (TCG PC Client PFP §10.2: event log integers are little-endian, UEFI
 * structures too) whose faults are EventLogErrors with `code`.
 */
export function leReader(bytes: Uint8Array, what: string, code: ErrorCode = 'ERR_EVENTLOG_EVENT_DATA'): ByteReader {
  return new ByteReader(bytes, what, (message, offset) => new EventLogError(code, message, { detail: { offset } }), true)
}

/** A UINT64 size or count that must not exceed `max`: a larger value is malformed, not truncated. */
export function u64Size(r: ByteReader, field: string, max = Number.MAX_SAFE_INTEGER): number {
  const at = r.offset
  const v = r.u64(field)
  if (v > BigInt(max)) throw r.error(`${field} ${v} exceeds ${max}`, at)
  return Number(v)
}
