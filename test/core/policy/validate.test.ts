import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { parsePolicyDocument, PROFILE_TOLERANCES_BY_TYPE, splitAnchors, validatePolicyDocument } from '../../../core/policy/validate.ts'
import { PolicyError } from '../../../core/errors.ts'
import type { TpmDevidAttestorConfig } from '../../../core/attestors/tpm-devid/config.ts'

const V = join(import.meta.dirname, '../../vectors/swtpm')
const devidRoot = readFileSync(join(V, 'devid-ca/root.pem'), 'utf8')
const devidInt = readFileSync(join(V, 'devid-ca/intermediate.pem'), 'utf8')
const ekRoot = readFileSync(join(V, 'ek-ca/swtpm-localca-rootca-cert.pem'), 'utf8')
const ekInt = readFileSync(join(V, 'ek-ca/issuercert.pem'), 'utf8')
const HASH = '0e09c2d1b430e324' + 'ab'.repeat(24)

function doc(config: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    section: 'AgentAttestation',
    schema: 'v1',
    spec: { policies: [{ name: 'tpm_devid_policy', requiredAttestors: [{ type: 'tpm_devid', config }], ...extra }] },
  }
}

function messages(d: unknown) {
  return validatePolicyDocument(d).issues.map((i) => `${i.path}: ${i.message}`)
}

describe('policy document validation', () => {
  it("accepts the seed's document and splits self-issued anchors from configured intermediates", () => {
    const set = parsePolicyDocument(
      doc({ devIDCACerts: devidRoot + devidInt, endorsementCACerts: ekRoot + ekInt, allowedEKHashes: [HASH.toUpperCase()] }),
    )
    expect(set.policies).toHaveLength(1)
    const p = set.policies[0]!
    expect(p.name).toBe('tpm_devid_policy')
    expect(p.spiffeIDTemplate).toBe('/agents/tpm-devid/{{tpm_devid.certificate.fingerprint}}')
    const a = p.requiredAttestors[0]! as TpmDevidAttestorConfig
    expect(a.type).toBe('tpm_devid')
    if (a.type !== 'tpm_devid') throw new Error('type')
    expect(a.devIDAnchors).toHaveLength(1)
    expect(a.devIDIntermediates).toHaveLength(1)
    expect(a.endorsementAnchors).toHaveLength(1)
    expect(a.endorsementIntermediates).toHaveLength(1)
    expect(a.allowedEKHashes).toEqual([HASH])
  })

  it('treats every certificate as an anchor when none is self-issued (SPIRE pool semantics)', () => {
    const set = parsePolicyDocument(doc({ devIDCACerts: devidInt, allowedEKHashes: [HASH] }))
    const a = set.policies[0]!.requiredAttestors[0]! as TpmDevidAttestorConfig
    if (a.type !== 'tpm_devid') throw new Error('type')
    expect(a.devIDAnchors).toHaveLength(1)
    expect(a.devIDIntermediates).toHaveLength(0)
    expect(splitAnchors([]).anchors).toEqual([])
  })

  it("gives the seed's exact messages", () => {
    expect(messages(doc({ allowedEKHashes: [HASH] }))).toEqual(['spec.policies[0].requiredAttestors[0].config: devIDCACerts is required'])
    expect(messages(doc({ devIDCACerts: devidRoot }))).toEqual([
      'spec.policies[0].requiredAttestors[0].config: at least one of endorsementCACerts or allowedEKHashes must be set',
    ])
    expect(messages(doc({ devIDCACerts: 'not pem', allowedEKHashes: [HASH] }))).toEqual([
      'spec.policies[0].requiredAttestors[0].config.devIDCACerts: devIDCACerts: could not parse any PEM certificates',
    ])
    expect(
      messages(doc({ devIDCACerts: devidRoot, endorsementCACerts: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n' })),
    ).toEqual(['spec.policies[0].requiredAttestors[0].config.endorsementCACerts: endorsementCACerts: could not parse any PEM certificates'])
    expect(messages(doc({ devIDCACerts: devidRoot, allowedEKHashes: [HASH, 'abc', 7] }))).toEqual([
      'spec.policies[0].requiredAttestors[0].config.allowedEKHashes[1]: allowedEKHashes[1]: expected 64-char hex SHA-256 hash',
      'spec.policies[0].requiredAttestors[0].config.allowedEKHashes[2]: allowedEKHashes[2]: expected 64-char hex SHA-256 hash',
    ])
  })

  it('parsePolicyDocument throws PolicyError ERR_POLICY_INVALID with the first message and its path', () => {
    try {
      parsePolicyDocument(doc({ allowedEKHashes: [HASH] }))
      expect.unreachable()
    } catch (e) {
      expect(e).toBeInstanceOf(PolicyError)
      expect((e as PolicyError).code).toBe('ERR_POLICY_INVALID')
      expect((e as PolicyError).message).toBe('devIDCACerts is required')
      expect((e as PolicyError).detail.path).toBe('spec.policies[0].requiredAttestors[0].config')
    }
  })

  it('rejects unknown keys and wrong types at every level, naming the path, and collects them all', () => {
    const m = messages({
      section: 'AgentAttestation',
      schema: 'v1',
      extra: 1,
      spec: {
        policies: [
          {
            name: 5,
            requiredAttestors: [{ type: 'tpm_devid', config: { devIDCACerts: 42, allowedEKHashes: 'x', bogus: true } }],
            color: 'red',
          },
          { name: 'p2', requiredAttestors: 'tpm_ek' },
          { name: 'p3', requiredAttestors: [{ type: 'tpm_quote', config: {} }] },
        ],
      },
    })
    expect(m).toContain('extra: unknown key "extra"; expected one of section, schema, spec')
    expect(m).toContain('spec.policies[0].color: unknown key "color"; expected one of name, requiredAttestors, spiffeIDTemplate')
    expect(m).toContain('spec.policies[0].name: expected a string, found number')
    expect(m).toContain(
      'spec.policies[0].requiredAttestors[0].config.bogus: unknown key "bogus"; expected one of devIDCACerts, endorsementCACerts, allowedEKHashes, tolerate, boot',
    )
    expect(m).toContain('spec.policies[0].requiredAttestors[0].config.devIDCACerts: expected a string, found number')
    expect(m).toContain('spec.policies[0].requiredAttestors[0].config.allowedEKHashes: expected an array of strings, found string')
    expect(m).toContain('spec.policies[1].requiredAttestors: expected an array, found string')
    expect(m.some((x) => x.startsWith('spec.policies[2].requiredAttestors[0].type: unknown attestor type "tpm_quote"'))).toBe(true)
    expect(m).toHaveLength(8)
  })

  it('checks the envelope, empty lists, duplicate names and non-objects', () => {
    expect(messages(null)).toEqual(['$: expected an object, found null'])
    expect(messages({ section: 'Other', schema: 'v2', spec: { policies: [] } })).toEqual([
      'section: expected "AgentAttestation", found "Other"',
      'schema: expected "v1", found "v2"',
      'spec.policies: policies must list at least one policy',
    ])
    const ek = { type: 'tpm_ek', config: { allowedEKHashes: [HASH] } }
    expect(
      messages({
        section: 'AgentAttestation',
        schema: 'v1',
        spec: {
          policies: [
            { name: 'a', requiredAttestors: [ek] },
            { name: 'a', requiredAttestors: [ek, ek] },
          ],
        },
      }),
    ).toEqual([
      'spec.policies[1].name: duplicate policy name "a"',
      'spec.policies[1].requiredAttestors[1].type: attestor type tpm_ek is listed twice in one policy',
    ])
  })

  it('validates tpm_ek configs: no devIDCACerts key, and EK trust required', () => {
    const ek = (config: unknown) => ({
      section: 'AgentAttestation',
      schema: 'v1',
      spec: { policies: [{ name: 'ek', requiredAttestors: [{ type: 'tpm_ek', config }] }] },
    })
    expect(messages(ek({}))).toEqual([
      'spec.policies[0].requiredAttestors[0].config: at least one of endorsementCACerts or allowedEKHashes must be set',
    ])
    expect(messages(ek({ devIDCACerts: devidRoot, allowedEKHashes: [HASH] }))).toEqual([
      'spec.policies[0].requiredAttestors[0].config.devIDCACerts: unknown key "devIDCACerts"; expected one of endorsementCACerts, allowedEKHashes, tolerate, boot',
    ])
    const set = parsePolicyDocument(ek({ endorsementCACerts: ekRoot }))
    expect(set.policies[0]!.spiffeIDTemplate).toBe('/agents/tpm-ek/{{tpm_ek.public_hash}}')
  })

  it('validates SPIFFE ID templates against the attributes of the policy attestors', () => {
    const ok = { devIDCACerts: devidRoot, allowedEKHashes: [HASH] }
    expect(messages(doc(ok, { spiffeIDTemplate: '/nodes/{{tpm_devid.ek.public_hash}}/{{ tpm_devid.certificate.subject_cn }}' }))).toEqual(
      [],
    )
    expect(messages(doc(ok, { spiffeIDTemplate: '/nodes/{{tpm_ek.public_hash}}' }))[0]).toMatch(
      /^spec\.policies\[0\]\.spiffeIDTemplate: unknown placeholder \{\{tpm_ek\.public_hash\}\}/,
    )
    expect(messages(doc(ok, { spiffeIDTemplate: 'nodes/{{tpm_devid.ek.public_hash}}' }))[0]).toBe(
      'spec.policies[0].spiffeIDTemplate: template must start with "/"',
    )
    expect(messages(doc(ok, { spiffeIDTemplate: '/a//{{tpm_devid.ek.public_hash}}' }))[0]).toMatch(/template is not a SPIFFE ID path/)
    expect(messages(doc(ok, { spiffeIDTemplate: '/a/{{}}' }))[0]).toMatch(/empty placeholder/)
    expect(messages(doc(ok, { spiffeIDTemplate: '/a/{{x' }))[0]).toMatch(/unbalanced/)
  })

  it('validates config.tolerate: known names for the attestor type, distinct, an array; each issue names its path', () => {
    const ok = { devIDCACerts: devidRoot, allowedEKHashes: [HASH] }
    const set = parsePolicyDocument(doc({ ...ok, tolerate: ['devid-other-eku', 'ek-missing-eku', 'ek-missing-tpm-identity'] }))
    expect(set.policies[0]!.requiredAttestors[0]!.tolerate).toEqual(['devid-other-eku', 'ek-missing-eku', 'ek-missing-tpm-identity'])
    // absent: none (strict)
    expect(parsePolicyDocument(doc(ok)).policies[0]!.requiredAttestors[0]!.tolerate).toBeUndefined()
    expect(messages(doc({ ...ok, tolerate: 'ek-missing-eku' }))).toEqual([
      'spec.policies[0].requiredAttestors[0].config.tolerate: expected an array of tolerance names, found string',
    ])
    expect(messages(doc({ ...ok, tolerate: ['ek-missing-eku', 'trailing-data', 7, 'ek-missing-eku'] }))).toEqual([
      'spec.policies[0].requiredAttestors[0].config.tolerate[1]: unknown tolerance "trailing-data"; expected one of ek-missing-eku, ek-missing-key-usage, ek-missing-basic-constraints, ek-missing-tpm-identity, devid-other-eku',
      'spec.policies[0].requiredAttestors[0].config.tolerate[2]: expected a tolerance name, found number',
      'spec.policies[0].requiredAttestors[0].config.tolerate[3]: tolerance "ek-missing-eku" is listed twice',
    ])
    const ek = (config: unknown) => ({
      section: 'AgentAttestation',
      schema: 'v1',
      spec: { policies: [{ name: 'ek', requiredAttestors: [{ type: 'tpm_ek', config }] }] },
    })
    expect(messages(ek({ allowedEKHashes: [HASH], tolerate: ['devid-other-eku'] }))).toEqual([
      'spec.policies[0].requiredAttestors[0].config.tolerate[0]: tolerance "devid-other-eku" applies to tpm_devid only (the DevID certificate)',
    ])
    expect(
      parsePolicyDocument(ek({ allowedEKHashes: [HASH], tolerate: ['ek-missing-key-usage'] })).policies[0]!.requiredAttestors[0]!.tolerate,
    ).toEqual(['ek-missing-key-usage'])
  })

  it('property: any tolerate value validates or yields path-named issues, never throws; accepted exactly when a list of distinct known names', () => {
    const known = PROFILE_TOLERANCES_BY_TYPE.tpm_ek as readonly string[]
    const name = fc.oneof(fc.constantFrom(...known, 'devid-other-eku', 'trailing-data', ''), fc.string({ maxLength: 12 }))
    const value = fc.oneof(fc.array(fc.oneof(name, fc.jsonValue({ maxDepth: 1 })), { maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }))
    const docFor = (tolerate: unknown) => ({
      section: 'AgentAttestation',
      schema: 'v1',
      spec: { policies: [{ name: 'ek', requiredAttestors: [{ type: 'tpm_ek', config: { allowedEKHashes: [HASH], tolerate } }] }] },
    })
    fc.assert(
      fc.property(value, (tolerate) => {
        const v = validatePolicyDocument(docFor(tolerate))
        const valid =
          tolerate === undefined ||
          (Array.isArray(tolerate) &&
            tolerate.every((t) => typeof t === 'string' && known.includes(t)) &&
            new Set(tolerate).size === tolerate.length)
        expect(v.issues.length === 0).toBe(valid)
        for (const i of v.issues) expect(i.path.startsWith('spec.policies[0].requiredAttestors[0].config.tolerate')).toBe(true)
        if (valid && tolerate !== undefined) expect(v.policySet!.policies[0]!.requiredAttestors[0]!.tolerate).toEqual(tolerate)
      }),
      { numRuns: 10_000 },
    )
  })
})
