// TCG PC Client Platform Firmware Profile v1.05 §10.2: the SHA1-legacy TCG_PCR_EVENT log and the
// crypto-agile log (a TCG_PCR_EVENT carrying TCG_EfiSpecIDEvent "Spec ID Event03", then
// TCG_PCR_EVENT2 records). All integers little-endian.
import { EventLogError } from '../errors.ts'
import { EV, LOG_ALG } from './event-types.ts'
import { leReader } from './le-reader.ts'

export interface EventDigest {
  /** TPM_ALG_ID of the bank */
  readonly alg: number
  readonly digest: Uint8Array
}

export interface TcgEvent {
  /** record number in the log, from 0 (the Spec ID event is record 0 of a crypto-agile log) */
  readonly index: number
  /** byte offset of the record in the log */
  readonly offset: number
  readonly pcr: number
  /** as logged; not covered by any digest, so vouch never trusts it for a verdict */
  readonly type: number
  /** one per bank, in logged order */
  readonly digests: readonly EventDigest[]
  readonly data: Uint8Array
}

export interface SpecIdAlgorithm {
  readonly alg: number
  readonly digestSize: number
}

/** TCG_EfiSpecIDEvent (§10.4.5.1) */
export interface SpecIdEvent {
  readonly platformClass: number
  readonly specVersionMajor: number
  readonly specVersionMinor: number
  readonly specErrata: number
  readonly uintnSize: number
  readonly algorithms: readonly SpecIdAlgorithm[]
  readonly vendorInfo: Uint8Array
}

export interface EventLog {
  readonly format: 'sha1-legacy' | 'crypto-agile'
  /** present for crypto-agile logs */
  readonly specId?: SpecIdEvent
  /** the banks each event carries: [SHA1] for a legacy log, the Spec ID algorithms otherwise */
  readonly banks: readonly number[]
  readonly events: readonly TcgEvent[]
}

export interface ParseEventLogOptions {
  /** bytes; default 16 MiB (real UEFI logs are 10-200 KB) */
  readonly maxBytes?: number
  /** records; default 20000 */
  readonly maxEvents?: number
  /** bytes of one event's data; default 4 MiB */
  readonly maxEventData?: number
}

const SPEC_ID_SIGNATURE = 'Spec ID Event03\0'
const MAX_ALGORITHMS = 16
const KNOWN_SIZES: Readonly<Record<number, number>> = {
  [LOG_ALG.SHA1]: 20,
  [LOG_ALG.SHA256]: 32,
  [LOG_ALG.SHA384]: 48,
  [LOG_ALG.SHA512]: 64,
  [LOG_ALG.SM3_256]: 32,
}

function isSpecIdEvent(pcr: number, type: number, data: Uint8Array): boolean {
  if (pcr !== 0 || type !== EV.NO_ACTION || data.length < SPEC_ID_SIGNATURE.length) return false
  for (let i = 0; i < SPEC_ID_SIGNATURE.length; i++) if (data[i] !== SPEC_ID_SIGNATURE.charCodeAt(i)) return false
  return true
}

/** Parses TCG_EfiSpecIDEvent; every algorithm needs a digest size, known ones their standard size. */
export function parseSpecIdEvent(data: Uint8Array): SpecIdEvent {
  const r = leReader(data, 'Spec ID event', 'ERR_EVENTLOG_SPEC_ID')
  r.take(16, 'signature')
  const platformClass = r.u32('platformClass')
  const specVersionMinor = r.u8('specVersionMinor')
  const specVersionMajor = r.u8('specVersionMajor')
  const specErrata = r.u8('specErrata')
  const uintnSize = r.u8('uintnSize')
  const count = r.u32('numberOfAlgorithms')
  if (count === 0 || count > MAX_ALGORITHMS) throw r.error(`numberOfAlgorithms is ${count}, expected 1 to ${MAX_ALGORITHMS}`)
  const algorithms: SpecIdAlgorithm[] = []
  for (let i = 0; i < count; i++) {
    const alg = r.u16('algorithmId')
    const digestSize = r.u16('digestSize')
    const known = KNOWN_SIZES[alg]
    if (known !== undefined && known !== digestSize) {
      throw r.error(`algorithm 0x${alg.toString(16)} has digestSize ${digestSize}, expected ${known}`)
    }
    if (digestSize === 0 || digestSize > 64) throw r.error(`algorithm 0x${alg.toString(16)} has digestSize ${digestSize}`)
    if (algorithms.some((a) => a.alg === alg)) throw r.error(`algorithm 0x${alg.toString(16)} is listed twice`)
    algorithms.push({ alg, digestSize })
  }
  const vendorInfo = r.take(r.u8('vendorInfoSize'), 'vendorInfo')
  r.expectEnd()
  return { platformClass, specVersionMajor, specVersionMinor, specErrata, uintnSize, algorithms, vendorInfo }
}

/**
 * Parses a TCG event log in either format. Returns the events with their digests and data (views
 * into `bytes`, no copies); throws EventLogError (ERR_EVENTLOG_MALFORMED, _TOO_LARGE or _SPEC_ID)
 * for anything else. Event data is not decoded here (see decode-event.ts).
 */
export function parseEventLog(bytes: Uint8Array, options: ParseEventLogOptions = {}): EventLog {
  const maxBytes = options.maxBytes ?? 16 * 1024 * 1024
  const maxEvents = options.maxEvents ?? 20000
  const maxEventData = options.maxEventData ?? 4 * 1024 * 1024
  if (bytes.length > maxBytes) {
    throw new EventLogError('ERR_EVENTLOG_TOO_LARGE', `event log is ${bytes.length} bytes, the limit is ${maxBytes}`, {
      detail: { size: bytes.length, limit: maxBytes },
    })
  }
  if (bytes.length === 0) throw new EventLogError('ERR_EVENTLOG_MALFORMED', 'event log is empty')
  const r = leReader(bytes, 'event log', 'ERR_EVENTLOG_MALFORMED')
  const events: TcgEvent[] = []
  const dataSize = (offset: number): number => {
    const size = r.u32('eventSize')
    if (size > maxEventData) {
      throw new EventLogError('ERR_EVENTLOG_TOO_LARGE', `event at offset ${offset}: ${size} bytes of data, the limit is ${maxEventData}`, {
        detail: { offset, size, limit: maxEventData },
      })
    }
    return size
  }
  const header = (): { offset: number; pcr: number; type: number } => {
    if (events.length >= maxEvents) {
      throw new EventLogError('ERR_EVENTLOG_TOO_LARGE', `event log has more than ${maxEvents} events`, { detail: { limit: maxEvents } })
    }
    const offset = r.offset
    const pcr = r.u32('pcrIndex')
    const type = r.u32('eventType')
    if (pcr > 31 && type !== EV.NO_ACTION) throw r.error(`event at offset ${offset} extends PCR ${pcr}`, offset)
    return { offset, pcr, type }
  }

  // the first record is always a TCG_PCR_EVENT
  const first = header()
  const firstDigest = r.take(20, 'digest')
  const firstData = r.take(dataSize(first.offset), 'event data')
  events.push({ index: 0, ...first, digests: [{ alg: LOG_ALG.SHA1, digest: firstDigest }], data: firstData })

  if (!isSpecIdEvent(first.pcr, first.type, firstData)) {
    while (r.remaining > 0) {
      const h = header()
      const digest = r.take(20, 'digest')
      const data = r.take(dataSize(h.offset), 'event data')
      events.push({ index: events.length, ...h, digests: [{ alg: LOG_ALG.SHA1, digest }], data })
    }
    return { format: 'sha1-legacy', banks: [LOG_ALG.SHA1], events }
  }

  const specId = parseSpecIdEvent(firstData)
  const sizes = new Map(specId.algorithms.map((a) => [a.alg, a.digestSize]))
  while (r.remaining > 0) {
    const h = header()
    const count = r.u32('digest count')
    if (count > specId.algorithms.length) {
      throw r.error(
        `event at offset ${h.offset} has ${count} digests, the Spec ID event lists ${specId.algorithms.length} algorithms`,
        h.offset,
      )
    }
    const digests: EventDigest[] = []
    for (let i = 0; i < count; i++) {
      const alg = r.u16('hashAlg')
      const size = sizes.get(alg)
      if (size === undefined)
        throw r.error(`event at offset ${h.offset} has a digest of algorithm 0x${alg.toString(16)} not in the Spec ID event`, h.offset)
      if (digests.some((d) => d.alg === alg))
        throw r.error(`event at offset ${h.offset} has two digests of algorithm 0x${alg.toString(16)}`, h.offset)
      digests.push({ alg, digest: r.take(size, 'digest') })
    }
    const data = r.take(dataSize(h.offset), 'event data')
    events.push({ index: events.length, ...h, digests, data })
  }
  return { format: 'crypto-agile', specId, banks: specId.algorithms.map((a) => a.alg), events }
}
