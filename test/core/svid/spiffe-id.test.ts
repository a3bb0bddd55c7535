import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { SpiffeError, VerifyError } from '../../../core/errors.ts'
import { checkPathSegment, joinPathSegments, checkPath } from '../../../core/svid/path.ts'
import {
  parseSpiffeId,
  parseTrustDomain,
  spiffeIdFromPath,
  spiffeIdFromSegments,
  trustDomainFromUri,
} from '../../../core/svid/spiffe-id.ts'
import { TrustDomain } from '../../../core/svid/trust-domain.ts'

interface Row {
  api: string
  input: string | null
  valid: boolean
  reason: string | null
  expected_trust_domain?: string
  expected_path?: string
  segments?: string[]
  test: string
}

const rows: Row[] = JSON.parse(readFileSync(join(import.meta.dirname, '../../vectors/spiffe-id/spiffe-id-cases.json'), 'utf8'))
const td = new TrustDomain('trustdomain')

/** Runs one row through the matching vouch API; returns {td, path} or the thrown error. */
function run(row: Row): { td?: string; path?: string } {
  const input = row.input ?? ''
  switch (row.api) {
    case 'FromString':
    case 'FromURI': {
      const id = parseSpiffeId(input)
      return { td: id.trustDomain.name, path: id.path }
    }
    case 'TrustDomainFromString':
      return { td: parseTrustDomain(input).name }
    case 'TrustDomainFromURI':
      return { td: trustDomainFromUri(input).name }
    case 'FromPath':
    case 'FormatPath': {
      const id = spiffeIdFromPath(td, input)
      return { td: id.trustDomain.name, path: id.path }
    }
    case 'FromSegments': {
      const id = spiffeIdFromSegments(td, row.segments!)
      return { td: id.trustDomain.name, path: id.path }
    }
    case 'JoinPathSegments':
      return { path: joinPathSegments(row.segments!) }
    case 'ValidatePathSegment':
      checkPathSegment(input)
      return {}
    default:
      throw new Error(`unknown api ${row.api}`)
  }
}

describe('SPIFFE ID case table (test/vectors/spiffe-id, 908 rows)', () => {
  it('has 908 rows', () => {
    expect(rows.length).toBe(908)
  })

  it('every row agrees: validity, trust domain, path and go-spiffe reason', () => {
    const disagreements: string[] = []
    let valid = 0
    let invalid = 0
    for (const row of rows) {
      let got: { td?: string; path?: string } | undefined
      let err: unknown
      try {
        got = run(row)
      } catch (e) {
        err = e
      }
      const label = `${row.api} ${JSON.stringify(row.input ?? row.segments)} (${row.test})`
      if (row.valid) {
        valid++
        if (err) disagreements.push(`${label}: expected valid, got ${String(err)}`)
        else {
          if (row.expected_trust_domain !== undefined && got!.td !== row.expected_trust_domain)
            disagreements.push(`${label}: trust domain ${got!.td}`)
          if (row.expected_path !== undefined && got!.path !== row.expected_path) disagreements.push(`${label}: path ${got!.path}`)
        }
      } else {
        invalid++
        if (!err) disagreements.push(`${label}: expected invalid (${row.reason}), got valid`)
        else if (!(err instanceof SpiffeError) || err.code !== 'ERR_SPIFFE_ID_INVALID')
          disagreements.push(`${label}: wrong error type ${String(err)}`)
        else if (err.message !== row.reason) disagreements.push(`${label}: reason "${err.message}" != "${row.reason}"`)
      }
    }
    expect(disagreements).toEqual([])
    expect([valid, invalid]).toEqual([209, 699])
  })
})

describe('SPIFFE ID API', () => {
  it('round-trips, compares exactly and splits segments', () => {
    const id = parseSpiffeId('spiffe://example.org/ns/Prod/sa/x')
    expect(id.toString()).toBe('spiffe://example.org/ns/Prod/sa/x')
    expect(id.segments()).toEqual(['ns', 'Prod', 'sa', 'x'])
    expect(id.equals(parseSpiffeId('spiffe://example.org/ns/prod/sa/x'))).toBe(false)
    expect(id.memberOf(new TrustDomain('example.org'))).toBe(true)
    expect(parseSpiffeId('spiffe://example.org').isRoot()).toBe(true)
    expect(JSON.stringify({ id })).toBe('{"id":"spiffe://example.org/ns/Prod/sa/x"}')
  })

  it('rejects every ID that fails checkPath or the trust domain rules (property)', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (host, path) => {
        const text = `spiffe://${host}${path.startsWith('/') || path === '' ? path : '/' + path}`
        try {
          const id = parseSpiffeId(text)
          expect(id.toString()).toBe(text)
          expect(() => checkPath(id.path)).not.toThrow()
          expect(/^[a-z0-9._-]+$/.test(id.trustDomain.name)).toBe(true)
        } catch (e) {
          expect(e).toBeInstanceOf(VerifyError)
        }
      }),
      { numRuns: 10_000 },
    )
  })
})

/** One test per verifier rule of checklist A (SPIFFE-ID.md), by number. */
describe('checklist A (SPIFFE-ID.md)', () => {
  const bad = (text: string) => expect(() => parseSpiffeId(text), text).toThrow(SpiffeError)
  it('A1: scheme must be spiffe (lowercase, with //)', () => {
    for (const t of ['http://td/x', 'SPIFFE://td/x', 'Spiffe://td/x', 'spiffe:/td/x', 'spiffe:td/x', 'td/x']) bad(t)
  })
  it('A2: trust domain must be non-empty', () => {
    for (const t of ['spiffe://', 'spiffe:///x']) bad(t)
    expect(() => parseTrustDomain('')).toThrow(SpiffeError)
  })
  it('A3: no query and no fragment', () => {
    for (const t of ['spiffe://td/x?q', 'spiffe://td/x#f', 'spiffe://td?q', 'spiffe://td#f', 'spiffe://td/x?']) bad(t)
  })
  it('A4: no userinfo, no port', () => {
    for (const t of ['spiffe://u@td/x', 'spiffe://u:p@td/x', 'spiffe://td:443/x', 'spiffe://td:/x']) bad(t)
  })
  it('A5: host must be lowercase', () => {
    for (const t of ['spiffe://TD/x', 'spiffe://Example.org/x']) bad(t)
    expect(() => new TrustDomain('Example.org')).toThrow(SpiffeError)
  })
  it('A6: host characters a-z 0-9 . - _ (IPv4 allowed, IPv6 literals not)', () => {
    expect(parseSpiffeId('spiffe://10.0.0.1/x').trustDomain.name).toBe('10.0.0.1')
    expect(parseSpiffeId('spiffe://a_b-c.d/x').trustDomain.name).toBe('a_b-c.d')
    for (const t of ['spiffe://[::1]/x', 'spiffe://a+b/x', 'spiffe://a b/x', 'spiffe://ä/x']) bad(t)
  })
  it('A7: no percent-encoding in the host', () => {
    bad('spiffe://ex%61mple.org/x')
  })
  it('A8: an IP-like trust domain is compared like any other name', () => {
    const a = parseSpiffeId('spiffe://10.0.0.1/x')
    expect(a.equals(parseSpiffeId('spiffe://10.0.0.1/x'))).toBe(true)
    expect(a.equals(parseSpiffeId('spiffe://010.0.0.1/x'))).toBe(false)
  })
  it('A9: no percent-encoding in the path', () => {
    bad('spiffe://td/a%2Fb')
  })
  it('A10: no empty or dot segments; .a ..a ... are fine', () => {
    for (const t of ['spiffe://td//x', 'spiffe://td/./x', 'spiffe://td/x/..', 'spiffe://td/x/.']) bad(t)
    for (const s of ['.a', '..a', '...']) expect(parseSpiffeId(`spiffe://td/${s}`).path).toBe(`/${s}`)
  })
  it('A11: no trailing slash; the root ID has no path', () => {
    for (const t of ['spiffe://td/', 'spiffe://td/x/']) bad(t)
    expect(parseSpiffeId('spiffe://td').path).toBe('')
  })
  it('A12: segment characters a-z A-Z 0-9 . - _', () => {
    for (const c of ['~', '+', ':', '@', '!', '$', ' ', 'é']) bad(`spiffe://td/a${c}b`)
    expect(parseSpiffeId('spiffe://td/AZaz09.-_').path).toBe('/AZaz09.-_')
  })
  it('A13: IDs of 2048 bytes and trust domains of 255 bytes are accepted', () => {
    const tdName = 'a'.repeat(255)
    expect(parseSpiffeId(`spiffe://${tdName}`).trustDomain.name.length).toBe(255)
    const prefix = 'spiffe://td/'
    const id = prefix + 'b'.repeat(2048 - prefix.length)
    expect(parseSpiffeId(id).toString().length).toBe(2048)
  })
  it('A14: path comparison is case-sensitive', () => {
    expect(parseSpiffeId('spiffe://td/A').equals(parseSpiffeId('spiffe://td/a'))).toBe(false)
  })
})
