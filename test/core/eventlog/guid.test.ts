import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { formatGuid, GUID, sameGuid } from '../../../core/eventlog/guid.ts'
import { toHex } from '../../../core/bytes/encoding.ts'

/** The EFI_GUID text by its definition: Data1-3 little-endian, Data4 as is. */
function reference(b: Uint8Array): string {
  const rev = (i: number, j: number) => toHex(Uint8Array.from(b.subarray(i, j)).reverse())
  return `${rev(0, 4)}-${rev(4, 6)}-${rev(6, 8)}-${toHex(b.subarray(8, 10))}-${toHex(b.subarray(10, 16))}`
}

describe('formatGuid', () => {
  it('formats EFI_GLOBAL_VARIABLE from its bytes', () => {
    const b = Uint8Array.from([0x61, 0xdf, 0xe4, 0x8b, 0xca, 0x93, 0xd2, 0x11, 0xaa, 0x0d, 0x00, 0xe0, 0x98, 0x03, 0x2b, 0x8c])
    expect(formatGuid(b)).toBe(GUID.GLOBAL_VARIABLE)
  })

  it('reads the 16 bytes at an offset, equal to the definition, and leaves the bytes unchanged', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 64 }), fc.nat(), (b, k) => {
        const at = k % (b.length - 15)
        const copy = b.slice()
        expect(formatGuid(b, at)).toBe(reference(b.subarray(at, at + 16)))
        expect(b).toEqual(copy)
      }),
      { numRuns: 2_000 },
    )
  })

  it('refuses to read past the end', () => {
    expect(() => formatGuid(new Uint8Array(15))).toThrow(RangeError)
    expect(() => formatGuid(new Uint8Array(20), 5)).toThrow(RangeError)
  })

  it('sameGuid compares two GUIDs of one buffer', () => {
    const b = new Uint8Array(48)
    b.fill(7, 0, 16)
    b.fill(7, 16, 32)
    b[47] = 1
    expect(sameGuid(b, 0, 16)).toBe(true)
    expect(sameGuid(b, 16, 32)).toBe(false)
  })
})
