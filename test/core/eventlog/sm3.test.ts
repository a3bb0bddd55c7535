import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { sm3 } from '../../../core/eventlog/sm3.ts'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')

describe('sm3', () => {
  it('GB/T 32905-2016 examples A.1 ("abc") and A.2 (512 bits)', () => {
    expect(hex(sm3(new TextEncoder().encode('abc')))).toBe('66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0')
    expect(hex(sm3(new TextEncoder().encode('abcd'.repeat(16))))).toBe('debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732')
  })

  it('equals OpenSSL SM3 (node:crypto) on 500 random inputs across block boundaries', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (data) => {
        expect(hex(sm3(data))).toBe(createHash('sm3').update(data).digest('hex'))
      }),
      { numRuns: 500 },
    )
  })
})
