import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isVerifyError } from '../../../core/errors.ts'
import { evaluateBootState } from '../../../core/eventlog/boot-state.ts'
import { decodeEvent } from '../../../core/eventlog/decode-event.ts'
import { parseEventLog } from '../../../core/eventlog/parse.ts'
import { replayEventLog } from '../../../core/eventlog/replay.ts'
import { type Mutation, mutation } from '../attestation/mutation.ts'
import { codeOf, readLog } from './vectors.ts'

const le32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]
const le16 = (n: number) => [n & 0xff, (n >>> 8) & 0xff]

/** A crypto-agile log: Spec ID event (given algorithms), then `events` raw TCG_PCR_EVENT2 bytes. */
function agileLog(algs: [number, number][], events: number[][] = [], specTail: number[] = [0]): Uint8Array {
  const spec = [
    ...Array.from('Spec ID Event03\0', (c) => c.charCodeAt(0)),
    ...le32(0),
    0,
    2,
    0,
    2,
    ...le32(algs.length),
    ...algs.flatMap(([a, s]) => [...le16(a), ...le16(s)]),
    ...specTail,
  ]
  return new Uint8Array([...le32(0), ...le32(3), ...new Array(20).fill(0), ...le32(spec.length), ...spec, ...events.flat()])
}
const event2 = (pcr: number, type: number, digests: [number, number][], data: number[]) => [
  ...le32(pcr),
  ...le32(type),
  ...le32(digests.length),
  ...digests.flatMap(([a, size]) => [...le16(a), ...new Array(size).fill(0xab)]),
  ...le32(data.length),
  ...data,
]

describe('parseEventLog', () => {
  it('reads a minimal crypto-agile log', () => {
    const log = parseEventLog(agileLog([[0x0b, 32]], [event2(4, 5, [[0x0b, 32]], [65, 66])]))
    expect(log.format).toBe('crypto-agile')
    expect(log.banks).toEqual([0x0b])
    expect(log.events[1]).toMatchObject({ index: 1, offset: 32 + 33, pcr: 4, type: 5 })
    expect([...log.events[1]!.data]).toEqual([65, 66])
  })

  it('names every malformed input with a stable code', () => {
    expect(codeOf(() => parseEventLog(new Uint8Array()))).toBe('ERR_EVENTLOG_MALFORMED')
    expect(codeOf(() => parseEventLog(new Uint8Array(31)))).toBe('ERR_EVENTLOG_MALFORMED')
    expect(codeOf(() => parseEventLog(agileLog([])))).toBe('ERR_EVENTLOG_SPEC_ID')
    expect(codeOf(() => parseEventLog(agileLog([[0x0b, 20]])))).toBe('ERR_EVENTLOG_SPEC_ID')
    expect(
      codeOf(() =>
        parseEventLog(
          agileLog([
            [0x0b, 32],
            [0x0b, 32],
          ]),
        ),
      ),
    ).toBe('ERR_EVENTLOG_SPEC_ID')
    expect(codeOf(() => parseEventLog(agileLog([[0x99, 0]])))).toBe('ERR_EVENTLOG_SPEC_ID')
    expect(codeOf(() => parseEventLog(agileLog([[0x0b, 32]], [], [0, 1])))).toBe('ERR_EVENTLOG_SPEC_ID')
    // a digest of an algorithm the Spec ID event does not list, two of one algorithm, too many
    expect(codeOf(() => parseEventLog(agileLog([[0x0b, 32]], [event2(0, 1, [[0x04, 20]], [])])))).toBe('ERR_EVENTLOG_MALFORMED')
    expect(
      codeOf(() =>
        parseEventLog(
          agileLog(
            [[0x0b, 32]],
            [
              event2(
                0,
                1,
                [
                  [0x0b, 32],
                  [0x0b, 32],
                ],
                [],
              ),
            ],
          ),
        ),
      ),
    ).toBe('ERR_EVENTLOG_MALFORMED')
    // an extending event beyond PCR 31; a truncated event
    expect(codeOf(() => parseEventLog(agileLog([[0x0b, 32]], [event2(32, 1, [[0x0b, 32]], [])])))).toBe('ERR_EVENTLOG_MALFORMED')
    expect(codeOf(() => parseEventLog(agileLog([[0x0b, 32]], [event2(0, 1, [[0x0b, 32]], [1, 2, 3]).slice(0, -1)])))).toBe(
      'ERR_EVENTLOG_MALFORMED',
    )
  })

  it('enforces its byte, event and event-data bounds before reading', () => {
    const log = agileLog([[0x0b, 32]], [event2(4, 5, [[0x0b, 32]], [65]), event2(4, 5, [[0x0b, 32]], [65])])
    expect(codeOf(() => parseEventLog(log, { maxBytes: log.length - 1 }))).toBe('ERR_EVENTLOG_TOO_LARGE')
    expect(codeOf(() => parseEventLog(log, { maxEvents: 2 }))).toBe('ERR_EVENTLOG_TOO_LARGE')
    expect(codeOf(() => parseEventLog(log, { maxEventData: 32 }))).toBe('ERR_EVENTLOG_TOO_LARGE')
    expect(parseEventLog(log, { maxEvents: 3, maxEventData: 33, maxBytes: log.length }).events).toHaveLength(3)
    // an event claiming 4 GiB of data is refused by size, not by a failed allocation
    const huge = new Uint8Array([...log, ...le32(4), ...le32(5), ...le32(0), ...le32(0xffffffff)])
    expect(codeOf(() => parseEventLog(huge))).toBe('ERR_EVENTLOG_TOO_LARGE')
  })
})

// --- property tests: mutated real logs are a valid parse or a stable error, never anything else ---

const LEGACY = [
  'tpm2-software-tpm2-tools/test/integration/fixtures/event-uefi-sha1-log.bin',
  'google-go-attestation/attest/testdata/ebs_event_missing_eventlog',
].map(readLog)
const AGILE = [
  'tpm2-software-tpm2-tools/test/integration/fixtures/event-sd-boot-fedora37.bin',
  'google-go-attestation/attest/testdata/sb_cert_eventlog',
].map(readLog)

/** Offsets of every record header, so a mutation can hit sizes and counts, not only data. */
const HEADERS = new Map([...LEGACY, ...AGILE].map((b) => [b, parseEventLog(b).events.map((e) => e.offset)]))

/** attestation/mutation.ts's mutations, with typed-array copies (these logs are 2-19 KB) */
function mutate(b: Uint8Array, m: Mutation): Uint8Array {
  const n = b.length
  if (n === 0) return m.kind === 'extend' ? Uint8Array.from(m.extra) : b
  switch (m.kind) {
    case 'flip':
      b[m.at % n]! ^= 1 << m.bit
      return b
    case 'set':
      b[m.at % n] = m.value
      return b
    case 'truncate':
      return b.subarray(0, m.at % n)
    case 'extend': {
      const out = new Uint8Array(n + m.extra.length)
      out.set(b)
      out.set(m.extra, n)
      return out
    }
    case 'cut': {
      const at = m.at % n
      const end = Math.min(n, at + m.len)
      const out = new Uint8Array(n - (end - at))
      out.set(b.subarray(0, at))
      out.set(b.subarray(end), at)
      return out
    }
  }
}

const logMutation = (bases: Uint8Array[]) =>
  fc
    .record({
      base: fc.nat({ max: bases.length - 1 }),
      mutations: fc.array(mutation, { minLength: 1, maxLength: 4 }),
      header: fc.option(
        fc.record({ event: fc.nat(), field: fc.nat({ max: 40 }), value: fc.oneof(fc.nat({ max: 64 }), fc.nat(), fc.constant(0xffffffff)) }),
      ),
    })
    .map(({ base, mutations, header }) => {
      let b: Uint8Array = bases[base]!.slice()
      if (header) {
        const offs = HEADERS.get(bases[base]!)!
        const at = offs[header.event % offs.length]! + header.field
        if (at + 4 <= b.length) b.set(le32(header.value), at)
      }
      for (const m of mutations) b = mutate(b, m)
      return b
    })

function parseOrStableError(bytes: Uint8Array): void {
  let log: ReturnType<typeof parseEventLog>
  try {
    log = parseEventLog(bytes)
  } catch (e) {
    if (!isVerifyError(e) || !e.code.startsWith('ERR_EVENTLOG_')) throw e
    return
  }
  for (const e of log.events) {
    const d = decodeEvent(e)
    if (d.error !== undefined && !d.error.startsWith('ERR_EVENTLOG_')) throw new Error(`decode error ${d.error}`)
  }
}

describe('parseEventLog properties', () => {
  it('10,000 mutated SHA1-legacy logs: a parse (every event decodes or names its fault) or an ERR_EVENTLOG_ error', () => {
    fc.assert(fc.property(logMutation(LEGACY), parseOrStableError), { numRuns: 10_000 })
  })

  it('10,000 mutated crypto-agile logs: a parse (every event decodes or names its fault) or an ERR_EVENTLOG_ error', () => {
    fc.assert(fc.property(logMutation(AGILE), parseOrStableError), { numRuns: 10_000 })
  })

  it('2,000 random byte strings behind a valid first header: a parse or an ERR_EVENTLOG_ error', () => {
    const spec = agileLog([
      [0x04, 20],
      [0x0b, 32],
    ])
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 512 }), (tail) => parseOrStableError(new Uint8Array([...spec, ...tail]))),
      { numRuns: 2_000 },
    )
  })

  it('1,000 mutated logs of both formats replay and yield a boot state, or fail with a stable error', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(logMutation(LEGACY), logMutation(AGILE)), async (bytes) => {
        try {
          const log = parseEventLog(bytes)
          const replay = await replayEventLog(log)
          await evaluateBootState(log, { verifiedPcrs: replay.extendedPcrs, quirks: ['shim-authority-size'] })
        } catch (e) {
          if (!isVerifyError(e) || !e.code.startsWith('ERR_EVENTLOG_')) throw e
        }
      }),
      { numRuns: 1_000 },
    )
  })
})
