import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SpiffeError } from '../../../core/errors.ts'
import { parseStrictJson } from '../../../core/svid/json.ts'

/** bigints (exact large integers) compared as the numbers JSON.parse gives */
function norm(v: unknown): unknown {
  if (typeof v === 'bigint') return Number(v)
  if (Array.isArray(v)) return v.map(norm)
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, norm(x)]))
  return v
}

describe('strict JSON for bundles', () => {
  it('agrees with JSON.parse on every JSON document without duplicate names (property)', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 6 }), (text) => {
        expect(norm(parseStrictJson(text, 't'))).toEqual(JSON.parse(text))
      }),
      { numRuns: 10_000 },
    )
  })
  it('refuses whatever JSON.parse refuses, and nothing but SpiffeErrors escape (property: mutated documents)', () => {
    fc.assert(
      fc.property(fc.json({ maxDepth: 4 }), fc.nat(), fc.string({ maxLength: 4 }), fc.nat(2), (doc, at, ins, mode) => {
        const i = at % (doc.length + 1)
        const text = mode === 0 ? doc.slice(0, i) : mode === 1 ? doc.slice(0, i) + ins + doc.slice(i) : doc.slice(0, i) + doc.slice(i + 1)
        let ref: unknown
        let refOk = true
        try {
          ref = JSON.parse(text)
        } catch {
          refOk = false
        }
        try {
          const got = parseStrictJson(text, 't')
          expect(refOk).toBe(true)
          expect(norm(got)).toEqual(ref)
        } catch (e) {
          if (!(e instanceof SpiffeError)) throw e
          expect(e.code).toBe('ERR_BUNDLE_MALFORMED')
          // the only documents JSON.parse takes and vouch refuses: repeated member names
          if (refOk) expect(e.message).toMatch(/appears twice/)
        }
      }),
      { numRuns: 10_000 },
    )
  })
  it('D12: a member name twice in one object is refused, at any depth', () => {
    for (const t of ['{"a":1,"a":1}', '{"keys":[{"use":"x509-svid","use":"jwt-svid"}]}', '{"x":{"k":1,"k":2}}']) {
      expect(() => parseStrictJson(t, 't'), t).toThrow(/appears twice/)
    }
    expect(parseStrictJson('{"a":{"k":1},"b":{"k":2}}', 't')).toEqual({ a: { k: 1 }, b: { k: 2 } })
  })
  it('keeps integers beyond 2^53 exact, bounds nesting, keeps __proto__ as data', () => {
    expect(parseStrictJson('{"n":18446744073709551615,"m":9007199254740991,"f":1e300}', 't')).toEqual({
      n: 18446744073709551615n,
      m: 9007199254740991,
      f: 1e300,
    })
    expect(() => parseStrictJson('['.repeat(40) + ']'.repeat(40), 't')).toThrow(/nesting/)
    const o = parseStrictJson('{"__proto__":{"polluted":true}}', 't') as Record<string, unknown>
    expect(Object.getPrototypeOf(o)).toBe(Object.prototype)
    // biome-ignore lint/suspicious/noProto: the test is that a JSON key named __proto__ stays a plain property
    expect(o.__proto__).toEqual({ polluted: true })
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
  })
})
