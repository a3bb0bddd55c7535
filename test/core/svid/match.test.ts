import { describe, expect, it } from 'vitest'
import { SpiffeError } from '../../../core/errors.ts'
import { matchAny, matchId, matchMemberOf, matchOneOf, type SpiffeIdMatcher } from '../../../core/svid/match.ts'
import { parseSpiffeId } from '../../../core/svid/spiffe-id.ts'

// go-spiffe spiffeid/match_test.go (EXPECTATIONS.md §5), minus the zero ID, which vouch cannot construct
const foo = parseSpiffeId('spiffe://foo.test')
const fooA = parseSpiffeId('spiffe://foo.test/A')
const fooB = parseSpiffeId('spiffe://foo.test/B')
const fooC = parseSpiffeId('spiffe://foo.test/sub/C')
const barA = parseSpiffeId('spiffe://bar.test/A')
const ids = [foo, fooA, fooB, fooC, barA]

function results(m: SpiffeIdMatcher): string[] {
  return ids.map((id) => {
    try {
      m(id)
      return ''
    } catch (e) {
      expect(e).toBeInstanceOf(SpiffeError)
      expect((e as SpiffeError).code).toBe('ERR_SVID_ID_NOT_ALLOWED')
      return (e as SpiffeError).message
    }
  })
}
const ok = (r: string[]) => r.map((x) => x === '')

describe('matchers (go-spiffe match_test.go)', () => {
  it('matchAny: all match', () => {
    expect(ok(results(matchAny()))).toEqual([true, true, true, true, true])
  })
  it('matchId(fooA): only fooA', () => {
    const r = results(matchId(fooA))
    expect(ok(r)).toEqual([false, true, false, false, false])
    expect(r[0]).toMatch(/unexpected id "spiffe:\/\/foo.test"/)
    expect(r[4]).toMatch(/unexpected id "spiffe:\/\/bar.test\/A"/)
  })
  it('matchId(foo): no prefix matching', () => {
    expect(ok(results(matchId('spiffe://foo.test')))).toEqual([true, false, false, false, false])
  })
  it('matchOneOf(foo, fooB, fooC, barA); matchOneOf() allows nothing', () => {
    expect(ok(results(matchOneOf(foo, fooB, fooC, barA)))).toEqual([true, false, true, true, true])
    expect(ok(results(matchOneOf()))).toEqual([false, false, false, false, false])
  })
  it('matchMemberOf(foo.test)', () => {
    const r = results(matchMemberOf('foo.test'))
    expect(ok(r)).toEqual([true, true, true, true, false])
    expect(r[4]).toMatch(/unexpected trust domain "bar.test"/)
  })
  it('A14: path comparison is case-sensitive', () => {
    expect(ok(results(matchId('spiffe://foo.test/a')))).toEqual([false, false, false, false, false])
  })
  it('bad matcher arguments are refused when the matcher is built', () => {
    expect(() => matchId('spiffe://foo.test/')).toThrow(SpiffeError)
    expect(() => matchMemberOf('Foo.test')).toThrow(SpiffeError)
  })
})
