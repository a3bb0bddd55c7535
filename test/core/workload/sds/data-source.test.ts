import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeDataSource, encodeDataSource } from '../../../../core/workload/sds/data-source.ts'
import { ProtoWriter } from '../../../../core/workload/wire.ts'
import { RUNS, decodesOrFailsStably, fromHex, hex, mutations } from '../fuzz.ts'
import { dataSource } from './arbitraries.ts'

describe('envoy.config.core.v3.DataSource', () => {
  it('inline_bytes is field 2, written even when empty (a oneof member has presence)', () => {
    expect(hex(encodeDataSource({ inlineBytes: fromHex('aabb') }))).toBe('1202aabb')
    expect(hex(encodeDataSource({ inlineBytes: new Uint8Array() }))).toBe('1200')
    expect(hex(encodeDataSource({ filename: '/x' }))).toBe('0a022f78')
    expect(hex(encodeDataSource({ inlineString: 'p' }))).toBe('1a0170')
    expect(hex(encodeDataSource({}))).toBe('')
  })

  it('the last member of the oneof wins; unknown members are skipped', () => {
    const bytes = new ProtoWriter().string(1, '/a').bytes(2, fromHex('01')).string(4, 'ENV').finish()
    expect(decodeDataSource(bytes)).toEqual({ inlineBytes: fromHex('01') })
    expect(decodeDataSource(new ProtoWriter().bytes(2, fromHex('01')).string(3, 's').finish())).toEqual({ inlineString: 's' })
  })

  it('a filename that is not UTF-8 is ERR_WORKLOAD_MALFORMED', () => {
    expect(() => decodeDataSource(fromHex('0a01ff'))).toThrow(/DataSource: filename at offset 1 is not valid UTF-8/)
  })

  it('property: round trip', () => {
    fc.assert(
      fc.property(dataSource, (m) => {
        expect(decodeDataSource(encodeDataSource(m))).toEqual(m)
      }),
      { numRuns: 1000 },
    )
  })

  it('property: any bytes decode or fail with ERR_WORKLOAD_MALFORMED', () => {
    fc.assert(
      fc.property(mutations(dataSource.map(encodeDataSource)), (b) => decodesOrFailsStably(() => decodeDataSource(b))),
      { numRuns: RUNS },
    )
  })
})
