import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { decodeAscii } from '../../../core/eventlog/text.ts'

/** The definition: printable ASCII, tab, CR and LF, trailing NULs dropped; anything else is not text. */
function reference(b: Uint8Array): string | undefined {
  let end = b.length
  while (end > 0 && b[end - 1] === 0) end--
  let s = ''
  for (const c of b.subarray(0, end)) {
    if ((c < 0x20 && c !== 9 && c !== 10 && c !== 13) || c > 0x7e) return undefined
    s += String.fromCharCode(c)
  }
  return s
}

const asciiByte = fc.oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.constantFrom(0, 9, 10, 13, 0x7f, 0x80, 0xff, 1))

describe('decodeAscii', () => {
  it('equals the definition on mostly-ASCII bytes', () => {
    fc.assert(
      fc.property(fc.array(asciiByte, { maxLength: 200 }), (codes) => {
        const b = Uint8Array.from(codes)
        expect(decodeAscii(b)).toBe(reference(b))
      }),
      { numRuns: 3_000 },
    )
  })

  it('decodes text longer than one chunk, with trailing NULs dropped', () => {
    const b = new Uint8Array(10_003).fill(0x61)
    b[5000] = 0x62
    b.fill(0, 10_000)
    const s = decodeAscii(b)!
    expect(s.length).toBe(10_000)
    expect(s).toBe(reference(b))
    b[9000] = 0x80
    expect(decodeAscii(b)).toBeUndefined()
  })
})
