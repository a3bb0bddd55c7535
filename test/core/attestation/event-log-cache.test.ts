import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createAttestationCaches } from '../../../core/attestation/caches.ts'
import { decodeEventLogText, eventLogEntry } from '../../../core/attestation/event-log-cache.ts'
import { parseEventLog } from '../../../core/eventlog/parse.ts'
import { defaultPlatform, withPlatform } from '../../../core/platform.ts'

const LOG = new Uint8Array(
  readFileSync(
    new URL('../../vectors/eventlog/keylime-keylime/test/data/create-mb-policy/binary_bios_measurements-secureboot', import.meta.url),
  ),
)
const MAX = 176 * 1024
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64')
const server = (eventLogs?: number) => withPlatform(createAttestationCaches({ eventLogs }), defaultPlatform())

/** The log with one byte of its last event's text changed (inside the last 32 base64 characters): it still parses. */
function tailVariant(k: number): Uint8Array {
  const b = LOG.slice()
  b[b.length - 5] = 0x41 + k // "A", "B", ...: the original is a lowercase letter
  return b
}

/**
 * The log's base64 with one character changed where the slot hash does not sample it (neither on
 * its stride of length/64 nor in the last 32): inside a GRUB command's text, so it still parses.
 */
function unsampledVariant(): string {
  const text = b64(LOG)
  const step = Math.floor(text.length / 64)
  const e = parseEventLog(LOG).events.find((x) => x.pcr === 8 && x.data.length > 40)!
  let at = e.data.byteOffset - LOG.byteOffset + 12
  at -= at % 3
  let c = (at / 3) * 4 + 1
  if (c % step === 0) c += 4
  const replaced = text[c] === 'A' ? 'B' : 'A'
  return text.slice(0, c) + replaced + text.slice(c + 1)
}

describe('event log cache by base64 text', () => {
  it('without a cache, the text is decoded every time', () => {
    const p = defaultPlatform()
    const a = decodeEventLogText(b64(LOG), 'EventLog', MAX, p)
    expect(a).toEqual(LOG)
    expect(decodeEventLogText(b64(LOG), 'EventLog', MAX, p)).not.toBe(a)
    expect(eventLogEntry(a, p)).not.toBe(eventLogEntry(a, p))
  })

  it('a text whose log parsed is not decoded again: its bytes are the cached copy, and its entry is the cached one', () => {
    const p = server()
    const text = b64(LOG)
    const first = decodeEventLogText(text, 'EventLog', MAX, p)
    const entry = eventLogEntry(first, p)
    // the same text again, as a new string (JSON.parse makes one per request)
    const again = decodeEventLogText(`${text} `.trimEnd(), 'EventLog', MAX, p)
    expect(again).not.toBe(first)
    expect(again).toEqual(LOG)
    expect(decodeEventLogText(text, 'EventLog', MAX, p)).toBe(again)
    expect(eventLogEntry(again, p)).toBe(entry)
    expect(eventLogEntry(first, p)).toBe(entry) // the caller's bytes: found by their content
  })

  it('a text differing where the slot hash does not look takes the slot: a miss, never the other log', () => {
    const p = server()
    const a = b64(LOG)
    const b = unsampledVariant()
    expect(b.length).toBe(a.length)
    expect(b).not.toBe(a)
    const ea = eventLogEntry(decodeEventLogText(a, 'EventLog', MAX, p), p)
    const ownA = decodeEventLogText(a, 'EventLog', MAX, p)
    const bytesB = decodeEventLogText(b, 'EventLog', MAX, p)
    expect(bytesB).not.toEqual(LOG)
    const eb = eventLogEntry(bytesB, p)
    expect(eb).not.toBe(ea)
    expect(eb.log.events.length).toBe(ea.log.events.length)
    // b now holds the slot: a is decoded afresh (equal bytes, not the cached copy), b is a hit
    const againA = decodeEventLogText(a, 'EventLog', MAX, p)
    expect(againA).toEqual(LOG)
    expect(againA).not.toBe(ownA)
    expect(eventLogEntry(againA, p)).toBe(ea) // still one parse: the cache by bytes holds it
    expect(decodeEventLogText(b, 'EventLog', MAX, p)).toEqual(bytesB)
  })

  it('a log that does not parse is not remembered: decoded and refused every time', () => {
    const p = server()
    const text = b64(LOG.subarray(0, 100))
    for (let i = 0; i < 2; i++) {
      const bytes = decodeEventLogText(text, 'EventLog', MAX, p)
      expect(() => eventLogEntry(bytes, p)).toThrow(expect.objectContaining({ code: 'ERR_EVENTLOG_MALFORMED' }))
    }
  })

  it('bounds still hold on a hit, and malformed text fails as decodeBounded says', () => {
    const p = server()
    const text = b64(LOG)
    eventLogEntry(decodeEventLogText(text, 'EventLog', MAX, p), p)
    expect(() => decodeEventLogText(text, 'EventLog', 1024, p)).toThrow(expect.objectContaining({ code: 'ERR_INPUT_TOO_LARGE' }))
    expect(() => decodeEventLogText('%%%%', 'EventLog', MAX, p)).toThrow(expect.objectContaining({ code: 'ERR_EVIDENCE_MALFORMED' }))
    expect(() => decodeEventLogText(7, 'EventLog', MAX, p)).toThrow(/EventLog: expected a base64 string/)
  })

  it('holds at most the cache capacity of texts, least recently used out first', () => {
    const p = server(2)
    const texts = [LOG, tailVariant(1), tailVariant(2)].map(b64)
    const own = texts.map((t) => {
      const bytes = decodeEventLogText(t, 'EventLog', MAX, p)
      eventLogEntry(bytes, p)
      return decodeEventLogText(t, 'EventLog', MAX, p)
    })
    expect(decodeEventLogText(texts[2]!, 'EventLog', MAX, p)).toBe(own[2])
    expect(decodeEventLogText(texts[1]!, 'EventLog', MAX, p)).toBe(own[1])
    expect(decodeEventLogText(texts[0]!, 'EventLog', MAX, p)).not.toBe(own[0])
  })
})
