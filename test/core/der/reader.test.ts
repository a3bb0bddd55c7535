import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { DerError, VerifyError } from '../../../core/errors.ts'
import { compareDerOrder, DerReader, firstDerElement, parseDerElement, readElement, TAG } from '../../../core/der/reader.ts'
import { decodeOid, encodeOid, OID, oidOf } from '../../../core/der/oid.ts'
import {
  decodeBitString,
  decodeBoolean,
  decodeNamedBits,
  decodeSmallInteger,
  decodeString,
  decodeTime,
  decodeUnsigned,
  decodeIntegerBytes,
} from '../../../core/der/values.ts'
import { encodeTlv } from '../../../core/der/writer.ts'

const el = (hex: string) => parseDerElement(Uint8Array.from(Buffer.from(hex.replace(/\s/g, ''), 'hex')))
const bytes = (hex: string) => Uint8Array.from(Buffer.from(hex.replace(/\s/g, ''), 'hex'))

function errorOf(f: () => unknown): VerifyError {
  try {
    f()
  } catch (e) {
    if (e instanceof VerifyError) return e
    throw e
  }
  throw new Error('did not throw')
}

describe('DER reader', () => {
  it('reads short and long form lengths', () => {
    expect(el('04 02 aa bb').value).toEqual(bytes('aabb'))
    const long = new Uint8Array(3 + 200)
    long.set([0x04, 0x81, 200])
    expect(parseDerElement(long).value.length).toBe(200)
  })

  it('rejects indefinite, non-minimal and over-long lengths with offsets', () => {
    expect(errorOf(() => el('30 80 00 00')).message).toMatch(/indefinite/)
    expect(errorOf(() => el('04 81 02 aa bb')).message).toMatch(/below 128 is not DER/)
    expect(errorOf(() => el('04 82 00 81' + 'aa'.repeat(0x81))).message).toMatch(/leading zero/)
    const e = errorOf(() => el('04 85 00 00 00 00 01 aa'))
    expect(e).toBeInstanceOf(DerError)
    expect(e.code).toBe('ERR_DER_MALFORMED')
    expect(e.message).toMatch(/exceeds the 4-octet bound/)
    expect(e.detail.offset).toBe(1)
  })

  it('rejects truncation, high tag numbers and trailing data', () => {
    expect(errorOf(() => el('04 05 aa')).message).toMatch(/runs past the end/)
    expect(errorOf(() => el('04')).message).toMatch(/truncated length/)
    expect(errorOf(() => el('1f 81 00 00')).message).toMatch(/high tag/)
    const t = errorOf(() => el('05 00 ff ff'))
    expect(t.code).toBe('ERR_DER_TRAILING_DATA')
    expect(t.detail.offset).toBe(2)
    expect(parseDerElement(bytes('05 00 ff ff'), 'x', true).tlv).toEqual(bytes('0500'))
    expect(firstDerElement(bytes('30 03 02 01 05 ff ff ff'))).toEqual(bytes('30 03 02 01 05'))
  })

  it('walks children and checks expected tags', () => {
    const seq = el('30 06 02 01 05 01 01 ff')
    const r = DerReader.sequence(seq, 'test')
    expect(decodeSmallInteger(r.expect(TAG.INTEGER, 'n'), 'n')).toBe(5)
    expect(r.optional(TAG.OID, 'absent')).toBeUndefined()
    expect(decodeBoolean(r.next('b'), 'b')).toBe(true)
    r.finish()
    expect(errorOf(() => DerReader.sequence(el('31 00'), 'x')).message).toMatch(/expected 0x30/)
    const r2 = DerReader.sequence(el('30 03 02 01 05'), 'x')
    expect(errorOf(() => r2.expect(TAG.BOOLEAN, 'flag')).message).toMatch(/flag has tag 0x02, expected 0x01/)
    // a child whose length runs past its parent
    expect(errorOf(() => DerReader.sequence(el('30 03 02 05 05'), 'x').next('n')).message).toMatch(/runs past/)
  })

  it('orders SET OF elements as X.690 §11.6 says', () => {
    expect(compareDerOrder(bytes('0101'), bytes('0102'))).toBeLessThan(0)
    expect(compareDerOrder(bytes('01'), bytes('0100'))).toBe(0)
    expect(compareDerOrder(bytes('02'), bytes('0100'))).toBeGreaterThan(0)
  })
})

describe('DER values', () => {
  it('OIDs round trip, including large arcs', () => {
    for (const o of [OID.commonName, OID.tpmManufacturer, OID.ecdsaWithSHA256, '2.999.3', '1.2.18446744073709551617']) {
      expect(decodeOid(encodeOid(o))).toBe(o)
    }
    expect(encodeOid('1.2.840.113549.1.1.11')).toEqual(bytes('2a864886f70d01010b'))
    expect(() => decodeOid(bytes('2a 80 01'))).toThrow(/not minimal/)
    expect(() => decodeOid(bytes('2a 86'))).toThrow(/truncated/)
    expect(() => decodeOid(new Uint8Array())).toThrow(/empty/)
    expect(() => encodeOid('1.40')).toThrow(TypeError)
  })

  it('encodeOid keeps what it encoded, but a caller that changes the bytes it got changes no later encoding; past 256 OIDs it still encodes', () => {
    const first = encodeOid(OID.ecdsaWithSHA256)
    first.fill(0)
    expect(encodeOid(OID.ecdsaWithSHA256)).toEqual(bytes('2a8648ce3d040302'))
    encodeOid(OID.ecdsaWithSHA256)[0] = 0xff
    expect(encodeOid(OID.ecdsaWithSHA256)).toEqual(bytes('2a8648ce3d040302'))
    for (let i = 0; i < 600; i++) expect(decodeOid(encodeOid(`1.3.6.1.4.1.${i}.${i * 7}`))).toBe(`1.3.6.1.4.1.${i}.${i * 7}`)
    expect(() => encodeOid('1.40')).toThrow(TypeError)
  })

  it('oidOf reads an element in place and agrees with decodeOid on random octets, faults and offsets included', () => {
    const outcome = (f: () => string) => {
      try {
        return f()
      } catch (e) {
        return `${(e as DerError).code}: ${(e as Error).message}`
      }
    }
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 30 }), fc.nat(5), (octets, pad) => {
        // the OID inside a buffer at an offset, as certificates hold them
        const tlv = new Uint8Array(pad + 2 + octets.length)
        tlv.set([TAG.OID, octets.length], pad)
        tlv.set(octets, pad + 2)
        const element = readElement(tlv, pad, tlv.length, 'oid')
        const want = outcome(() => decodeOid(octets, pad + 2))
        expect(outcome(() => oidOf(element))).toBe(want)
        expect(outcome(() => oidOf(element))).toBe(want) // memoised the second time, same answer
      }),
      { numRuns: 20_000 },
    )
    // distinct OIDs never share an answer, however the memo's slots fall
    const many = Array.from({ length: 5000 }, (_, i) => `1.3.6.1.4.1.${i}.${i * 7}`)
    for (const o of many) expect(oidOf(el(Buffer.from([TAG.OID, encodeOid(o).length, ...encodeOid(o)]).toString('hex')))).toBe(o)
  })

  it('INTEGERs must be minimal unless tolerated', () => {
    expect(decodeUnsigned(el('02 02 00 80'), 'n')).toEqual(bytes('80'))
    expect(() => decodeUnsigned(el('02 02 00 01'), 'n')).toThrow(/not minimally encoded/)
    expect(() => decodeIntegerBytes(el('02 02 ff 80'), 'n')).toThrow(/not minimally encoded/)
    expect(decodeUnsigned(el('02 04 00 00 00 01'), 'n', { tolerate: ['non-minimal-integer'] })).toEqual(bytes('01'))
    expect(() => decodeUnsigned(el('02 01 80'), 'n')).toThrow(/negative/)
    expect(() => decodeUnsigned(el('02 00'), 'n')).toThrow(/empty/)
  })

  it('BOOLEAN must be 00 or ff', () => {
    expect(decodeBoolean(el('01 01 00'), 'b')).toBe(false)
    expect(() => decodeBoolean(el('01 01 01'), 'b')).toThrow(/not DER/)
    expect(() => decodeBoolean(el('01 02 ff ff'), 'b')).toThrow(/2 octets/)
  })

  it('BIT STRING and named bit lists (untrimmed-bit-string tolerance)', () => {
    expect(decodeBitString(el('03 03 00 ab cd'), 'b').bytes).toEqual(bytes('abcd'))
    expect(() => decodeBitString(el('03 02 01 01'), 'b')).toThrow(/unused bits are not zero/)
    expect(() => decodeBitString(el('03 01 01'), 'b')).toThrow(/invalid/)
    // keyUsage keyEncipherment (bit 2): DER is 03 02 05 20
    expect(decodeNamedBits(el('03 02 05 20'), 'ku')).toBe(1 << 2)
    expect(() => decodeNamedBits(el('03 02 00 20'), 'ku')).toThrow(/trailing zero bits/)
    expect(decodeNamedBits(el('03 02 00 20'), 'ku', { tolerate: ['untrimmed-bit-string'] })).toBe(1 << 2)
    expect(decodeNamedBits(el('03 03 07 80 80'), 'ku')).toBe((1 << 0) | (1 << 8))
  })

  it('strings', () => {
    expect(decodeString(el('0c 03 61 62 63'), 's')).toBe('abc')
    expect(decodeString(el('13 03 41 2d 31'), 's')).toBe('A-1')
    expect(() => decodeString(el('13 01 40'), 's')).toThrow(/PrintableString/)
    expect(() => decodeString(el('0c 01 ff'), 's')).toThrow(/UTF-8/)
    expect(decodeString(el('1e 04 00 41 00 42'), 's')).toBe('AB')
    expect(decodeString(el('04 01 41'), 's')).toBeUndefined()
  })

  it('times per RFC 5280 §4.1.2.5', () => {
    const t = (s: string, tag: number = TAG.UTC_TIME) => readElement(encodeTlv(tag, new TextEncoder().encode(s)), 0, 2 + s.length, 't')
    expect(decodeTime(t('491231235959Z'), 't')).toBe(Date.UTC(2049, 11, 31, 23, 59, 59))
    expect(decodeTime(t('500101000000Z'), 't')).toBe(Date.UTC(1950, 0, 1))
    expect(decodeTime(t('99991231235959Z', TAG.GENERALIZED_TIME), 't')).toBe(Date.UTC(9999, 11, 31, 23, 59, 59))
    expect(() => decodeTime(t('20301231235959Z', TAG.GENERALIZED_TIME), 't')).toThrow(/< 2050 must be UTCTime/)
    expect(decodeTime(t('20301231235959Z', TAG.GENERALIZED_TIME), 't', { tolerate: ['generalized-time-before-2050'] })).toBe(
      Date.UTC(2030, 11, 31, 23, 59, 59),
    )
    expect(() => decodeTime(t('2001010000Z'), 't')).toThrow(/YYMMDDHHMMSSZ/)
    expect(() => decodeTime(t('210230000000Z'), 't')).toThrow(/time 210230000000Z is not a valid date/)
    // every day of the calendar agrees with Date, leap years included; impossible fields are refused
    for (let y = 2048; y <= 2052; y++) {
      for (let m = 1; m <= 12; m++) {
        for (let d = 0; d <= 32; d++) {
          const text = `${String(y % 100).padStart(2, '0')}${String(m).padStart(2, '0')}${String(d).padStart(2, '0')}235959Z`
          const text4 = `${y}${text.slice(2)}`
          const valid = d >= 1 && new Date(Date.UTC(y, m - 1, d)).getUTCDate() === d
          const el = y >= 2050 ? t(text4, TAG.GENERALIZED_TIME) : t(text)
          if (valid) expect(decodeTime(el, 't')).toBe(Date.UTC(y, m - 1, d, 23, 59, 59))
          else expect(() => decodeTime(el, 't')).toThrow(/not a valid date/)
        }
      }
    }
    for (const bad of ['210101240000Z', '210101236000Z', '210101235960Z', '211301000000Z', '210001000000Z', '2101010000a0Z'])
      expect(() => decodeTime(t(bad), 't'), bad).toThrow()
    expect(() => decodeTime(t('210101000000+0100'), 't')).toThrow()
    expect(() => decodeTime(t('20500101000000.5Z', TAG.GENERALIZED_TIME), 't')).toThrow()
  })

  it('never throws anything but VerifyError on random input (fast-check)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        try {
          const e = parseDerElement(b, 'fuzz', true)
          if (e.tag & 0x20) {
            const r = DerReader.of(e, 'fuzz')
            while (!r.done) r.next('child')
          }
          if (e.tag === TAG.OID) decodeOid(e.value)
          if (e.tag === TAG.UTC_TIME || e.tag === TAG.GENERALIZED_TIME) decodeTime(e, 't')
          decodeString(e, 's')
        } catch (err) {
          if (!(err instanceof VerifyError)) throw err
        }
      }),
      { numRuns: 10_000 },
    )
  })
})
