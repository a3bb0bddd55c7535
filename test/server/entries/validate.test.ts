import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { isVerifyError } from '../../../core/errors.ts'
import { MAX_SELECTORS, checkEntryInput, checkSelector, isParentedTo } from '../../../server/entries/validate.ts'

const TD = 'example.org'
const HASH = 'ab'.repeat(32)
const base = { spiffeId: 'spiffe://example.org/web', parentId: 'spiffe://example.org/agent/1', selectors: ['unix:uid:1000'] }

function codeOf(f: () => unknown): [string, string] {
  try {
    f()
  } catch (e) {
    if (isVerifyError(e)) return [e.code, e.message]
    throw e
  }
  throw new Error('no error')
}

describe('checkEntryInput', () => {
  it('accepts an entry parented by ID or by agent selectors; sorts and de-duplicates selectors; lowercases DNS names', () => {
    expect(
      checkEntryInput({ ...base, selectors: ['unix:uid:1000', `unix:sha256:${HASH}`, 'unix:uid:1000'], dnsNames: ['Web.Example.org'] }, TD),
    ).toEqual({
      spiffeId: 'spiffe://example.org/web',
      parentId: 'spiffe://example.org/agent/1',
      parentSelectors: [],
      selectors: [`unix:sha256:${HASH}`, 'unix:uid:1000'],
      x509SvidTtlSeconds: null,
      jwtSvidTtlSeconds: null,
      dnsNames: ['web.example.org'],
    })
    const bySel = checkEntryInput(
      {
        spiffeId: 'spiffe://example.org/db',
        parentSelectors: ['tpm_devid:subject:cn:host-1', `tpm:pub_hash:${HASH}`, `tpm_devid:ca:fingerprint:${'0f'.repeat(20)}`],
        selectors: ['unix:gid:0', 'unix:path:/usr/bin/db'],
        x509SvidTtlSeconds: 600,
        jwtSvidTtlSeconds: 300,
      },
      TD,
    )
    expect(bySel.parentId).toBeNull()
    expect(bySel.parentSelectors).toHaveLength(3)
    expect([bySel.x509SvidTtlSeconds, bySel.jwtSvidTtlSeconds]).toEqual([600, 300])
  })

  it('refuses each bad field with its code and a message naming the field', () => {
    expect(codeOf(() => checkEntryInput({ ...base, spiffeId: 'http://example.org/web' }, TD))).toEqual([
      'ERR_SPIFFE_ID_INVALID',
      'spiffeId: scheme is missing or invalid',
    ])
    expect(codeOf(() => checkEntryInput({ ...base, spiffeId: 'spiffe://other.org/web' }, TD))).toEqual([
      'ERR_ENTRY_INVALID',
      'spiffeId: "spiffe://other.org/web" is not in trust domain "example.org"',
    ])
    expect(codeOf(() => checkEntryInput({ ...base, parentId: 'spiffe://other.org/a' }, TD))[1]).toMatch(/^parentId: .*not in trust domain/)
    expect(codeOf(() => checkEntryInput({ ...base, spiffeId: 'spiffe://example.org' }, TD))[1]).toMatch(
      /^spiffeId: the trust domain's own ID/,
    )
    expect(codeOf(() => checkEntryInput({ ...base, selectors: ['docker:label:x'] }, TD))).toEqual([
      'ERR_ENTRY_SELECTOR_INVALID',
      'selectors[0]: unknown workload selector type "docker"; known: unix',
    ])
    expect(codeOf(() => checkEntryInput({ ...base, selectors: ['unix:uid:-1'] }, TD))[1]).toMatch(
      /^selectors\[0\]: unix:uid needs a decimal id/,
    )
    expect(codeOf(() => checkEntryInput({ ...base, selectors: ['unix:uid:4294967296'] }, TD))[0]).toBe('ERR_ENTRY_SELECTOR_INVALID')
    expect(codeOf(() => checkEntryInput({ ...base, selectors: ['unix:sha256:ABC'] }, TD))[1]).toMatch(
      /^selectors\[0\]: unix:sha256 needs 64/,
    )
    expect(codeOf(() => checkEntryInput({ ...base, selectors: ['unix:path:relative'] }, TD))[1]).toMatch(/absolute path/)
    // a program alone is not an identity: a path or hash selector needs a uid or gid beside it
    for (const alone of [['unix:path:/usr/bin/db'], [`unix:sha256:${HASH}`], ['unix:path:/usr/bin/db', `unix:sha256:${HASH}`]])
      expect(codeOf(() => checkEntryInput({ ...base, selectors: alone }, TD))).toEqual([
        'ERR_ENTRY_INVALID',
        'selectors: unix:path and unix:sha256 name a program, not who runs it; add a unix:uid or unix:gid selector',
      ])
    expect(checkEntryInput({ ...base, selectors: ['unix:gid:0', 'unix:path:/usr/bin/db'] }, TD).selectors).toHaveLength(2)
    expect(codeOf(() => checkEntryInput({ ...base, selectors: ['unix:pid:1'] }, TD))[1]).toMatch(/unknown unix selector "pid"/)
    expect(codeOf(() => checkEntryInput({ ...base, selectors: ['uid'] }, TD))[1]).toMatch(/^selectors\[0\]: expected type:value/)
    expect(codeOf(() => checkEntryInput({ ...base, selectors: [] }, TD))).toEqual([
      'ERR_ENTRY_INVALID',
      'selectors: an entry needs at least one workload selector',
    ])
    const many = Array.from({ length: MAX_SELECTORS + 1 }, (_, i) => `unix:uid:${i}`)
    expect(codeOf(() => checkEntryInput({ ...base, selectors: many }, TD))).toEqual([
      'ERR_ENTRY_LIMIT',
      `selectors: ${MAX_SELECTORS + 1} selectors, at most ${MAX_SELECTORS}`,
    ])
    expect(codeOf(() => checkEntryInput({ ...base, selectors: [`unix:path:/${'a'.repeat(300)}`] }, TD))[0]).toBe('ERR_ENTRY_LIMIT')
    // a workload selector is not an agent selector, nor the reverse
    expect(codeOf(() => checkEntryInput({ ...base, selectors: ['tpm_devid:subject:cn:x'] }, TD))[1]).toMatch(
      /unknown workload selector type "tpm_devid"/,
    )
    const { parentId: _p, ...noParent } = base
    expect(codeOf(() => checkEntryInput({ ...noParent, parentSelectors: ['unix:uid:1'] }, TD))[1]).toMatch(
      /^parentSelectors\[0\]: unknown agent selector type "unix"; known: tpm_devid, tpm/,
    )
    expect(codeOf(() => checkEntryInput({ ...noParent, parentSelectors: ['tpm:pub_hash:zz'] }, TD))[0]).toBe('ERR_ENTRY_SELECTOR_INVALID')
    expect(codeOf(() => checkEntryInput({ ...noParent, parentSelectors: ['tpm_devid:subject:cn:'] }, TD))[1]).toMatch(/needs a common name/)
    expect(codeOf(() => checkEntryInput(noParent, TD))[1]).toMatch(/^parent: give a parent SPIFFE ID or parent selectors/)
    expect(codeOf(() => checkEntryInput({ ...base, parentSelectors: ['tpm_devid:subject:cn:x'] }, TD))[1]).toMatch(/^parent:/)
    expect(codeOf(() => checkEntryInput({ ...base, spiffeId: base.parentId }, TD))[1]).toMatch(/^spiffeId: equals the parent ID/)
    expect(codeOf(() => checkEntryInput({ ...base, x509SvidTtlSeconds: 0 }, TD))[1]).toMatch(
      /^x509SvidTtl: expected whole seconds in 1\.\./,
    )
    expect(codeOf(() => checkEntryInput({ ...base, jwtSvidTtlSeconds: 86_401 }, TD))[1]).toMatch(/^jwtSvidTtl:/)
    expect(codeOf(() => checkEntryInput({ ...base, dnsNames: ['bad_name.example'] }, TD))[1]).toMatch(
      /^dnsNames\[0\]: "bad_name.example" is not a DNS name/,
    )
    expect(codeOf(() => checkEntryInput({ ...base, selectors: ['unix:path:/a\nb'] }, TD))[1]).toMatch(/control character/)
    // a lone surrogate is no Unicode text: PostgreSQL cannot hold it (the links of migration 8 read the selectors as JSON)
    for (const cn of ['\ud800', 'a\udfffb', '\udc00\ud800'])
      expect(codeOf(() => checkEntryInput({ ...noParent, parentSelectors: [`tpm_devid:subject:cn:${cn}`] }, TD))).toEqual([
        'ERR_ENTRY_SELECTOR_INVALID',
        'parentSelectors[0]: contains a lone surrogate (not well-formed Unicode)',
      ])
    expect(checkEntryInput({ ...noParent, parentSelectors: ['tpm_devid:subject:cn:\u{1f600}'] }, TD).parentSelectors).toEqual([
      'tpm_devid:subject:cn:\u{1f600}',
    ])
  })

  it('isParentedTo: exact agent ID, or every parent selector among the agent selectors', () => {
    const byId = checkEntryInput(base, TD)
    expect(isParentedTo(byId, 'spiffe://example.org/agent/1', new Set())).toBe(true)
    expect(isParentedTo(byId, 'spiffe://example.org/agent/2', new Set())).toBe(false)
    const { parentId: _p, ...noParent } = base
    const bySel = checkEntryInput({ ...noParent, parentSelectors: ['tpm_devid:subject:cn:a', 'tpm_devid:issuer:cn:ca'] }, TD)
    expect(isParentedTo(bySel, 'x', new Set(['tpm_devid:subject:cn:a', 'tpm_devid:issuer:cn:ca', 'tpm:pub_hash:1']))).toBe(true)
    expect(isParentedTo(bySel, 'x', new Set(['tpm_devid:subject:cn:a']))).toBe(false)
  })

  it('property: any entry input validates or is refused with a VerifyError, never anything else', () => {
    const id = fc.oneof(
      fc.constantFrom('spiffe://example.org/w', 'spiffe://example.org/agent/1', 'spiffe://other.org/x', 'spiffe://example.org', ''),
      fc.string(),
      fc.anything(),
    )
    const sel = fc.oneof(
      fc.constantFrom('unix:uid:1', `unix:sha256:${HASH}`, 'tpm_devid:subject:cn:a', `tpm:pub_hash:${HASH}`),
      fc.string(),
      fc.anything(),
    )
    const input = fc.record(
      {
        spiffeId: id,
        parentId: id,
        parentSelectors: fc.oneof(fc.array(sel, { maxLength: 4 }), fc.anything()),
        selectors: fc.oneof(fc.array(sel, { maxLength: 4 }), fc.anything()),
        x509SvidTtlSeconds: fc.oneof(fc.integer(), fc.double(), fc.anything()),
        jwtSvidTtlSeconds: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.anything()),
        dnsNames: fc.oneof(fc.array(fc.oneof(fc.domain(), fc.string(), fc.anything()), { maxLength: 3 }), fc.anything()),
      },
      { requiredKeys: ['spiffeId', 'selectors'] },
    )
    fc.assert(
      fc.property(input, (i) => {
        try {
          const spec = checkEntryInput(i as never, TD)
          expect(spec.spiffeId.startsWith('spiffe://example.org/')).toBe(true)
          expect(spec.selectors.length).toBeGreaterThan(0)
        } catch (e) {
          if (!isVerifyError(e)) throw e
        }
      }),
      { numRuns: 10_000 },
    )
  })

  it('property: any selector text is accepted unchanged or refused with a VerifyError, never anything else', () => {
    const part = fc.oneof(
      fc.constantFrom(
        'unix',
        'tpm',
        'tpm_devid',
        'uid',
        'gid',
        'path',
        'sha256',
        'subject',
        'cn',
        'pub_hash',
        'ca',
        'fingerprint',
        '/x',
        '1',
        HASH,
      ),
      fc.string(),
    )
    const selector = fc.oneof(
      fc.array(part, { maxLength: 5 }).map((p) => p.join(':')),
      fc.string({ maxLength: 300 }),
      fc.anything(),
    )
    fc.assert(
      fc.property(selector, fc.constantFrom('workload' as const, 'agent' as const), (s, kind) => {
        try {
          expect(checkSelector('s', s, kind)).toBe(s)
        } catch (e) {
          if (!isVerifyError(e)) throw e
          expect(e.message.startsWith('s:')).toBe(true)
        }
      }),
      { numRuns: 10_000 },
    )
  })
})
