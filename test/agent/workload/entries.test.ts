import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MAX_ENTRY_SELECTORS, parseEntries, sameEntry } from '../../../agent/workload/entries.ts'
import { isVerifyError } from '../../../core/errors.ts'

const ok = {
  id: 'a1',
  spiffeId: 'spiffe://example.org/web',
  parentId: 'spiffe://example.org/agent/x',
  parentSelectors: [],
  selectors: ['unix:uid:1000'],
  x509SvidTtl: 600,
  jwtSvidTtl: null,
  dnsNames: ['web.example.org'],
}

describe('parseEntries (GET /v1/entries as the agent keeps it)', () => {
  it('keeps well-formed entries (null TTLs absent), skips malformed ones with a reason, and never keeps more than max', () => {
    const r = parseEntries(
      {
        entries: [
          ok,
          { ...ok, id: 'b', spiffeId: 'spiffe://elsewhere.org/web' },
          { ...ok, id: 'c', selectors: [] },
          { ...ok, id: 'd', x509SvidTtl: -1 },
          { ...ok, id: 'e', selectors: Array.from({ length: MAX_ENTRY_SELECTORS + 1 }, (_, i) => `unix:uid:${i}`) },
          { ...ok, id: 'f', spiffeId: 'https://example.org/x' },
          'text',
          ok,
          { ...ok, id: 'g', spiffeId: 'spiffe://example.org/g' },
          { ...ok, id: 'h', spiffeId: 'spiffe://example.org/h' },
        ],
      },
      'example.org',
      2,
    )
    expect(r.entries).toEqual([
      { id: 'a1', spiffeId: 'spiffe://example.org/web', selectors: ['unix:uid:1000'], x509SvidTtl: 600, dnsNames: ['web.example.org'] },
      { id: 'g', spiffeId: 'spiffe://example.org/g', selectors: ['unix:uid:1000'], x509SvidTtl: 600, dnsNames: ['web.example.org'] },
    ])
    expect(r.dropped).toBe(1)
    expect(r.skipped).toEqual([
      'entry b: spiffeId is not in trust domain example.org',
      'entry c: selectors: expected 1..32 strings',
      'entry d: x509SvidTtl: expected a positive integer or null',
      'entry e: selectors: expected 1..32 strings',
      expect.stringMatching(/^entry f: spiffeId: /),
      'not an object',
    ])
    expect(() => parseEntries({ entries: {} }, 'example.org', 2)).toThrow(expect.objectContaining({ code: 'ERR_ENTRY_INVALID' }))
  })

  it('sameEntry: a selector or JWT TTL change is a change; key order is not', () => {
    const [a] = parseEntries({ entries: [ok] }, 'example.org', 1).entries
    const [b] = parseEntries({ entries: [{ ...ok, selectors: ['unix:uid:1001'] }] }, 'example.org', 1).entries
    const { id, ...rest } = ok
    const [c] = parseEntries({ entries: [{ ...rest, id }] }, 'example.org', 1).entries
    expect(sameEntry(a!, b!)).toBe(false)
    expect(sameEntry(a!, c!)).toBe(true)
  })

  it('any JSON answer: a bounded list of entries in the trust domain, or VerifyError; never anything else (10,000 runs)', () => {
    const entryish = fc.record(
      {
        id: fc.oneof(fc.string({ maxLength: 140 }), fc.integer()),
        spiffeId: fc.oneof(fc.constant('spiffe://example.org/w'), fc.webUrl(), fc.string()),
        selectors: fc.oneof(fc.array(fc.string({ maxLength: 8 }), { maxLength: 40 }), fc.jsonValue()),
        x509SvidTtl: fc.oneof(fc.integer(), fc.constant(null), fc.double(), fc.string()),
        jwtSvidTtl: fc.oneof(fc.integer(), fc.constant(null), fc.jsonValue()),
        dnsNames: fc.oneof(fc.array(fc.string(), { maxLength: 40 }), fc.jsonValue()),
      },
      { requiredKeys: [] },
    )
    fc.assert(
      fc.property(
        fc.oneof(fc.record({ entries: fc.array(fc.oneof(entryish, fc.jsonValue()), { maxLength: 12 }) }), fc.jsonValue()),
        (body) => {
          try {
            const r = parseEntries(body, 'example.org', 5)
            expect(r.entries.length).toBeLessThanOrEqual(5)
            for (const e of r.entries) {
              expect(e.spiffeId.startsWith('spiffe://example.org/')).toBe(true)
              expect(e.selectors.length).toBeGreaterThan(0)
              expect(e.selectors.length).toBeLessThanOrEqual(MAX_ENTRY_SELECTORS)
            }
            expect(new Set(r.entries.map((e) => e.id)).size).toBe(r.entries.length)
          } catch (e) {
            if (!isVerifyError(e)) throw e
          }
        },
      ),
      { numRuns: 10_000 },
    )
  })
})
