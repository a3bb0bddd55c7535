import { readFileSync } from 'node:fs'
import { generateKeyPairSync, sign } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { ecdsaDerToP1363, ecdsaP1363ToDer } from '../../../core/crypto/ecdsa-signature.ts'
import { fromHex, toHex } from '../../../core/bytes/encoding.ts'
import { DerError, VerifyError } from '../../../core/errors.ts'

const r32 = 'aa'.repeat(32)
const s32 = '11'.repeat(32)

describe('ecdsaDerToP1363 (strict DER)', () => {
  it('converts minimal encodings, including a sign byte and short integers, left-padding to the field', () => {
    expect(toHex(ecdsaDerToP1363(fromHex(`3045022100${r32}0220${s32}`), 32))).toBe(r32 + s32)
    expect(toHex(ecdsaDerToP1363(fromHex('3006020101020102'), 32))).toBe('00'.repeat(31) + '01' + '00'.repeat(31) + '02')
    expect(toHex(ecdsaDerToP1363(fromHex('3006020100020100'), 4))).toBe('0000000000000000')
  })

  it('matches node:crypto: DER and P1363 signatures of the same message convert into each other', () => {
    for (const [crv, size] of [
      ['P-256', 32],
      ['P-384', 48],
      ['P-521', 66],
    ] as const) {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: crv })
      for (let i = 0; i < 20; i++) {
        const msg = new Uint8Array([i])
        const der = sign('sha256', msg, { key: privateKey, dsaEncoding: 'der' })
        const p1363 = ecdsaDerToP1363(der, size)
        expect(p1363).toHaveLength(2 * size)
        expect(toHex(ecdsaP1363ToDer(p1363))).toBe(der.toString('hex'))
      }
    }
  })

  it.each([
    ['empty', ''],
    ['wrong outer tag', `3145022100${r32}0220${s32}`],
    ['indefinite length', `3080022100${r32}0220${s32}0000`],
    ['long-form length below 128', `308145022100${r32}0220${s32}`],
    ['two-byte length', `30820045022100${r32}0220${s32}`],
    ['truncated', `3045022100${r32}0220${s32}`.slice(0, -2)],
    ['trailing byte', `3045022100${r32}0220${s32}00`],
    ['extra bytes inside', `3047022100${r32}0220${s32}0500`],
    ['wrong integer tag', `3045032100${r32}0220${s32}`],
    ['non-minimal leading zero on r', '300702020001020102'],
    ['non-minimal leading zero on s', '30070201010202007f'],
    ['negative r', '3006020180020101'],
    ['empty r', '30050200020101'],
    ['missing s', `3023022100${r32}`],
    ['r wider than the field', `3046022200${'ff'.repeat(33)}0220${s32}`],
  ])('rejects %s with DerError ERR_DER_MALFORMED', (_name, hex) => {
    let err: unknown
    try {
      ecdsaDerToP1363(fromHex(hex), 32)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(DerError)
    expect((err as DerError).code).toBe('ERR_DER_MALFORMED')
  })

  it('property: truncated, extended and mutated real signatures convert or throw a VerifyError, and conversions round-trip (10,000 runs)', () => {
    const wp = JSON.parse(readFileSync(new URL('../../vectors/wycheproof/ecdsa_secp256r1_sha256_test.json', import.meta.url), 'utf8'))
    const seeds: Uint8Array[] = wp.testGroups.flatMap((g: { tests: { sig: string }[] }) => g.tests.map((t) => fromHex(t.sig)))
    fc.assert(
      fc.property(
        fc.constantFrom(...seeds),
        fc.oneof(
          fc.nat({ max: 80 }).map((n) => (b: Uint8Array) => b.subarray(0, n)),
          fc.uint8Array({ minLength: 1, maxLength: 8 }).map((t) => (b: Uint8Array) => new Uint8Array([...b, ...t])),
          fc
            .array(fc.tuple(fc.nat({ max: 79 }), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 4 })
            .map((edits) => (b: Uint8Array) => {
              const c = b.slice()
              for (const [i, v] of edits) if (i < c.length) c[i] = v
              return c
            }),
        ),
        (sig, mutate) => {
          const input = mutate(sig)
          let out: Uint8Array
          try {
            out = ecdsaDerToP1363(input, 32)
          } catch (e) {
            expect(e).toBeInstanceOf(VerifyError)
            return
          }
          // strict DER is canonical: what parses re-encodes to the same bytes
          expect(toHex(ecdsaP1363ToDer(out))).toBe(toHex(input))
        },
      ),
      { numRuns: 10_000 },
    )
  })
})

describe('ecdsaP1363ToDer', () => {
  it('adds a sign byte when the high bit is set and strips leading zeros', () => {
    expect(toHex(ecdsaP1363ToDer(fromHex(r32 + s32)))).toBe(`3045022100${r32}0220${s32}`)
    expect(toHex(ecdsaP1363ToDer(fromHex('00000001' + '00800000')))).toBe('3009' + '020101' + '020400800000')
    expect(toHex(ecdsaP1363ToDer(fromHex('0000' + '0000')))).toBe('3006' + '020100' + '020100')
  })

  it('rejects an odd, empty or oversized input with DerError', () => {
    for (const n of [0, 63, 134]) expect(() => ecdsaP1363ToDer(new Uint8Array(n))).toThrow(DerError)
  })
})
