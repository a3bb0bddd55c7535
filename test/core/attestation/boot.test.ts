import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeBootAnswer } from '../../../core/attestation/boot.ts'
import { VerifyError } from '../../../core/errors.ts'

const b64 = (n: number) => Buffer.alloc(n, 7).toString('base64')

describe('decodeBootAnswer', () => {
  it('decodes the Quote object; absent (null or missing) is undefined', () => {
    const q = decodeBootAnswer({ Attest: b64(100), Signature: b64(262), PCRValues: [b64(32), b64(32)], EventLog: b64(1000) }, 'q')!
    expect(q.attest.length).toBe(100)
    expect(q.pcrValues.map((v) => v.length)).toEqual([32, 32])
    expect(q.eventLog.length).toBe(1000)
    expect(decodeBootAnswer(null, 'q')).toBeUndefined()
    expect(decodeBootAnswer(undefined, 'q')).toBeUndefined()
  })
  it('refuses oversized logs and bad shapes with stable codes naming the field', () => {
    const ok = { Attest: b64(10), Signature: b64(10), PCRValues: [], EventLog: b64(10) }
    expect(() => decodeBootAnswer({ ...ok, EventLog: b64(177 * 1024) }, 'q')).toThrow(/q\.EventLog: .* exceed the bound/)
    expect(() => decodeBootAnswer({ ...ok, PCRValues: 'x' }, 'q')).toThrow(
      expect.objectContaining({ code: 'ERR_BOOT_QUOTE_MALFORMED', message: 'q.PCRValues: expected an array of base64 strings' }),
    )
    expect(() => decodeBootAnswer([], 'q')).toThrow(expect.objectContaining({ code: 'ERR_BOOT_QUOTE_MALFORMED' }))
  })
  it('any JSON value: a decoded answer, undefined or a VerifyError, never anything else (10,000 runs)', () => {
    const field = fc.oneof(fc.jsonValue(), fc.base64String({ maxLength: 200 }))
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record(
            { Attest: field, Signature: field, PCRValues: fc.oneof(fc.array(field, { maxLength: 4 }), fc.jsonValue()), EventLog: field },
            { requiredKeys: [] },
          ),
        ),
        (v) => {
          try {
            decodeBootAnswer(v, 'q')
          } catch (e) {
            expect(e).toBeInstanceOf(VerifyError)
          }
        },
      ),
      { numRuns: 10_000 },
    )
  })
})
