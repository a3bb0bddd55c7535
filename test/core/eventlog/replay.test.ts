import { describe, expect, it } from 'vitest'
import { parseEventLog } from '../../../core/eventlog/parse.ts'
import { replayEventLog, replayToJson } from '../../../core/eventlog/replay.ts'
import { createHash } from 'node:crypto'

const le32 = (n: number) => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff]

/** Spec ID event for SHA-256 and an algorithm vouch does not know (0x00aa, 32 bytes), then events. */
function log(events: number[][]): Uint8Array {
  const spec = [
    ...Array.from('Spec ID Event03\0', (c) => c.charCodeAt(0)),
    0,
    0,
    0,
    0,
    0,
    2,
    0,
    2,
    ...le32(2),
    0x0b,
    0,
    32,
    0,
    0xaa,
    0,
    32,
    0,
    0,
  ]
  return new Uint8Array([...le32(0), ...le32(3), ...new Array(20).fill(0), ...le32(spec.length), ...spec, ...events.flat()])
}
const ev = (pcr: number, type: number, fill: number, data: number[] = []) => [
  ...le32(pcr),
  ...le32(type),
  ...le32(2),
  0x0b,
  0,
  ...new Array(32).fill(fill),
  0xaa,
  0,
  ...new Array(32).fill(fill),
  ...le32(data.length),
  ...data,
]
const extend = (pcr: Buffer, digest: Buffer) =>
  createHash('sha256')
    .update(Buffer.concat([pcr, digest]))
    .digest()

describe('replayEventLog', () => {
  it('extends logged digests in order, skips EV_NO_ACTION, starts PCR 0 at the StartupLocality', async () => {
    const locality = [...Array.from('StartupLocality\0', (c) => c.charCodeAt(0)), 3]
    const r = await replayEventLog(parseEventLog(log([ev(0, 3, 0, locality), ev(0, 8, 1), ev(7, 4, 2), ev(7, 3, 9), ev(7, 4, 3)])))
    expect(r.startupLocality).toBe(3)
    expect(r.extendedPcrs).toEqual([0, 7])
    const start0 = Buffer.alloc(32)
    start0[31] = 3
    const json = replayToJson(r)
    expect(json.sha256!['0']).toBe(extend(start0, Buffer.alloc(32, 1)).toString('hex'))
    expect(json.sha256!['7']).toBe(extend(extend(Buffer.alloc(32), Buffer.alloc(32, 2)), Buffer.alloc(32, 3)).toString('hex'))
    // the unknown algorithm is listed, not replayed
    expect(r.banks.find((b) => b.alg === 0xaa)).toMatchObject({ replayed: false, reason: 'unsupported-hash', name: '0x00aa' })
    expect(Object.keys(json)).toEqual(['sha256'])
  })

  it('an H-CRTM event starts PCR 0 at 00..04', async () => {
    const r = await replayEventLog(parseEventLog(log([ev(0, 0x80000010, 5, [72])])))
    expect(r.hcrtm).toBe(true)
    const start = Buffer.alloc(32)
    start[31] = 4
    expect(replayToJson(r).sha256!['0']).toBe(extend(start, Buffer.alloc(32, 5)).toString('hex'))
  })
})
