/**
 * Attestor registries, and a third attestor registered through the public path: the test-only
 * `join_token` attestor (test/support/join-token-attestor/, built from `vouch/attestation` only)
 * is accepted by policy validation (config, attribute keys, templates) and by the verifier's start
 * and answer, alone and next to a real tpm_ek attestation on swtpm, with no edit anywhere in core.
 */
import { createHash, createHmac } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  type AnyAttestor,
  AttestationFailure,
  BUILTIN_ATTESTORS,
  createAttestationVerifier,
  createAttestorRegistry,
  createMemorySessionStore,
  parsePolicyDocument,
  validatePolicyDocument,
} from '../../../core/entries/attestation.ts'
import { PolicyError, type VerifyError } from '../../../core/errors.ts'
import { tpmEkAttestor } from '../../../core/attestors/tpm-ek/index.ts'
import { joinTokenAttestor } from '../../support/join-token-attestor/index.ts'
import { ekHashOfPem } from '../attestation/fixtures.ts'
import { evidenceSet, LiveAgent } from '../attestation/live-agent.ts'

const REGISTRY = createAttestorRegistry([...BUILTIN_ATTESTORS.attestors, joinTokenAttestor])

const TOKEN = new TextEncoder().encode('join-token-0123456789abcdef')
const TOKEN_HASH = createHash('sha256').update(TOKEN).digest('hex')
const TOKEN_ID = TOKEN_HASH.slice(0, 16)
const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64')

function doc(...policies: Record<string, unknown>[]) {
  return { section: 'AgentAttestation', schema: 'v1', spec: { policies } }
}
const joinPolicy = (config: unknown = { tokenHashes: [TOKEN_HASH] }, extra: Record<string, unknown> = {}) => ({
  name: 'join',
  requiredAttestors: [{ type: 'join_token', config }],
  ...extra,
})
const issues = (d: unknown) => validatePolicyDocument(d, { attestors: REGISTRY }).issues.map((i) => `${i.path}: ${i.message}`)

/** The join_token answer an honest agent gives. */
function proofFor(challenge: unknown, binding?: Uint8Array): Record<string, string> {
  const nonce = Buffer.from((challenge as { Nonce: string }).Nonce, 'base64')
  const mac = createHmac('sha256', TOKEN)
    .update(binding ? Buffer.concat([nonce, binding]) : nonce)
    .digest()
  return { Proof: b64(mac) }
}

describe('createAttestorRegistry', () => {
  it('keeps registration order and looks attestors up by type', () => {
    expect(REGISTRY.types).toEqual(['tpm_devid', 'tpm_ek', 'join_token'])
    expect(REGISTRY.get('join_token')).toBe(joinTokenAttestor)
    expect(REGISTRY.has('join_token')).toBe(true)
    expect(BUILTIN_ATTESTORS.has('join_token')).toBe(false)
    expect(REGISTRY.has(7)).toBe(false)
    expect(REGISTRY.get('__proto__')).toBeUndefined()
  })

  it('refuses a malformed or repeated attestor at registration', () => {
    const bad = (patch: Partial<AnyAttestor>) => () => createAttestorRegistry([{ ...joinTokenAttestor, ...patch } as AnyAttestor])
    expect(() => createAttestorRegistry([joinTokenAttestor, joinTokenAttestor])).toThrow('attestor type join_token is registered twice')
    expect(() => createAttestorRegistry([tpmEkAttestor, { ...tpmEkAttestor } as AnyAttestor])).toThrow('registered twice')
    expect(bad({ type: 'Join-Token' })).toThrow('attestor type "Join-Token" is not [a-z][a-z0-9_]*')
    expect(bad({ attributeKeys: ['token_id'] })).toThrow('attribute key "token_id" does not start with "join_token."')
    expect(bad({ configKeys: ['tokenHashes', 'boot'] })).toThrow('config key "boot" is read by the policy layer')
    expect(bad({ defaultSpiffeIdTemplate: 'agents/x' })).toThrow('must start with "/"')
    expect(bad({ identityAttribute: 'join_token.nope' })).toThrow(
      'the identity attribute "join_token.nope" is not one of its attribute keys',
    )
    expect(bad({ checkAnswer: undefined as never })).toThrow('checkAnswer is not a function')
  })
})

describe('a third attestor in policy documents', () => {
  it('is unknown without its registry, and the built-in types are listed', () => {
    expect(validatePolicyDocument(doc(joinPolicy())).issues).toEqual([
      {
        path: 'spec.policies[0].requiredAttestors[0].type',
        message: 'unknown attestor type "join_token"; expected one of tpm_devid, tpm_ek',
      },
    ])
    expect(() => parsePolicyDocument(doc(joinPolicy()))).toThrow(PolicyError)
  })

  it('validates with its registry: its config parser, its default template, its attribute keys', () => {
    const set = parsePolicyDocument(doc(joinPolicy()), { attestors: REGISTRY })
    const p = set.policies[0]!
    expect(p.spiffeIDTemplate).toBe('/agents/join-token/{{join_token.token_id}}')
    expect(p.requiredAttestors).toEqual([{ type: 'join_token', tokenHashes: [TOKEN_HASH] }])
    const custom = parsePolicyDocument(doc(joinPolicy(undefined, { spiffeIDTemplate: '/nodes/{{join_token.token_id}}' })), {
      attestors: REGISTRY,
    })
    expect(custom.policies[0]!.spiffeIDTemplate).toBe('/nodes/{{join_token.token_id}}')
  })

  it("reports its problems with the attestor's own messages and keys", () => {
    const at = 'spec.policies[0].requiredAttestors[0]'
    expect(issues(doc(joinPolicy(null)))).toEqual([`${at}.config: tokenHashes is required`])
    expect(issues(doc(joinPolicy({})))).toEqual([`${at}.config: tokenHashes is required`])
    expect(issues(doc(joinPolicy({ tokenHashes: ['xyz'] })))).toEqual([
      `${at}.config.tokenHashes[0]: expected 64 lowercase hex digits, found "xyz"`,
    ])
    // no tolerances and no measured boot: neither key is accepted
    expect(issues(doc(joinPolicy({ tokenHashes: [TOKEN_HASH], tolerate: [], boot: {} })))).toEqual([
      `${at}.config.tolerate: unknown key "tolerate"; expected one of tokenHashes`,
      `${at}.config.boot: unknown key "boot"; expected one of tokenHashes`,
    ])
    expect(issues(doc(joinPolicy(undefined, { spiffeIDTemplate: '/x/{{tpm_ek.public_hash}}' })))).toEqual([
      'spec.policies[0].spiffeIDTemplate: unknown placeholder {{tpm_ek.public_hash}}; expected one of join_token.token_id',
    ])
  })

  it('combines with a built-in attestor: both key sets for templates, the tolerance message of the owner unchanged', () => {
    const both = {
      name: 'both',
      spiffeIDTemplate: '/nodes/{{join_token.token_id}}/{{tpm_ek.public_hash}}',
      requiredAttestors: [
        { type: 'tpm_ek', config: { allowedEKHashes: ['ab'.repeat(32)] } },
        { type: 'join_token', config: { tokenHashes: [TOKEN_HASH] } },
      ],
    }
    expect(issues(doc(both))).toEqual([])
    const devidTolerance = {
      name: 't',
      requiredAttestors: [{ type: 'tpm_ek', config: { allowedEKHashes: ['ab'.repeat(32)], tolerate: ['devid-other-eku'] } }],
    }
    expect(issues(doc(devidTolerance))).toEqual([
      'spec.policies[0].requiredAttestors[0].config.tolerate[0]: tolerance "devid-other-eku" applies to tpm_devid only (the DevID certificate)',
    ])
  })
})

describe('a third attestor in the verifier', () => {
  const set = parsePolicyDocument(doc(joinPolicy()), { attestors: REGISTRY })

  it('refuses policies whose attestor it does not have', () => {
    expect(() => createAttestationVerifier({ policies: set })).toThrow(
      'createAttestationVerifier: policy join requires attestor type join_token, which is not registered',
    )
  })

  it('start: its evidence checks and challenge; answer: its proof, attributes, selectors and default SPIFFE ID', async () => {
    const v = createAttestationVerifier({ policies: set, attestors: REGISTRY, trustDomain: 'example.org' })
    const started = await v.start({ providedMethods: ['join_token'], evidence: { join_token: { Token: b64(TOKEN) } } })
    expect(Object.keys(started.challenges)).toEqual(['join_token'])
    const binding = new Uint8Array(32).fill(7)
    const verdict = await v.answer(started.sessionId, { join_token: proofFor(started.challenges.join_token, binding) }, { binding })
    expect(verdict.attestorTypes).toEqual(['join_token'])
    expect(verdict.policy).toBe('join')
    expect(verdict.attributes).toEqual({ 'join_token.token_id': TOKEN_ID })
    expect(verdict.selectors).toEqual([{ type: 'join_token', value: `token_id:${TOKEN_ID}` }])
    expect(verdict.spiffeId).toBe(`spiffe://example.org/agents/join-token/${TOKEN_ID}`)
    expect(verdict.checks.map((c) => c.name)).toEqual([
      'join_token.evidence',
      'join_token.token',
      'spiffe_id',
      'join_token.challenge',
      'session',
      'join_token.answer',
      'join_token.proof',
    ])
  })

  it('its failures carry its codes: an unknown token at start, a wrong proof at answer', async () => {
    const v = createAttestationVerifier({ policies: set, attestors: REGISTRY })
    const other = await v
      .start({ providedMethods: ['join_token'], evidence: { join_token: { Token: b64(new Uint8Array(8)) } } })
      .catch((e: unknown) => e)
    expect(other).toBeInstanceOf(AttestationFailure)
    expect((other as AttestationFailure).code).toBe('ERR_POLICY_DENIED')
    expect((other as AttestationFailure).check).toBe('join_token.token')
    const started = await v.start({ providedMethods: ['join_token'], evidence: { join_token: { Token: b64(TOKEN) } } })
    const wrong = await v.answer(started.sessionId, { join_token: { Proof: b64(new Uint8Array(32)) } }).catch((e: unknown) => e)
    expect((wrong as AttestationFailure).code).toBe('ERR_CREDENTIAL_MISMATCH')
    expect((wrong as AttestationFailure).check).toBe('join_token.proof')
    const malformed = await v.start({ providedMethods: ['join_token'], evidence: { join_token: { Token: 7 } } }).catch((e: unknown) => e)
    expect((malformed as VerifyError).code).toBe('ERR_EVIDENCE_MALFORMED')
  })

  it('a session started with its attestor is unknown to a verifier without it (shared store): its answer is never skipped', async () => {
    const sessions = createMemorySessionStore()
    const withIt = createAttestationVerifier({ policies: set, attestors: REGISTRY, sessions })
    const ekOnly = parsePolicyDocument(
      doc({ name: 'ek', requiredAttestors: [{ type: 'tpm_ek', config: { allowedEKHashes: ['ab'.repeat(32)] } }] }),
    )
    const without = createAttestationVerifier({ policies: ekOnly, sessions })
    const started = await withIt.start({ providedMethods: ['join_token'], evidence: { join_token: { Token: b64(TOKEN) } } })
    const e = await without.answer(started.sessionId, {}).catch((x: unknown) => x)
    expect((e as VerifyError).code).toBe('ERR_SESSION_UNKNOWN')
  })

  describe('next to tpm_ek on swtpm', () => {
    let agent: LiveAgent
    beforeAll(async () => {
      agent = await LiveAgent.start('tpm-a')
    }, 60_000)
    afterAll(async () => {
      await agent?.stop()
    })

    it('a policy requiring tpm_ek AND join_token: both challenges, both answers, merged attributes and template', async () => {
      const ekHash = ekHashOfPem('tpm-a/ek-rsa.pem')
      const both = parsePolicyDocument(
        doc({
          name: 'both',
          spiffeIDTemplate: '/nodes/{{join_token.token_id}}/{{tpm_ek.public_hash}}',
          requiredAttestors: [
            { type: 'join_token', config: { tokenHashes: [TOKEN_HASH] } },
            { type: 'tpm_ek', config: { allowedEKHashes: [ekHash] } },
          ],
        }),
        { attestors: REGISTRY },
      )
      const v = createAttestationVerifier({ policies: both, attestors: REGISTRY })
      const ev = evidenceSet('tpm-a-ek') as Record<string, string>
      const started = await v.start({
        providedMethods: ['tpm_ek', 'join_token'],
        evidence: { tpm_ek: ev, join_token: { Token: b64(TOKEN) } },
      })
      const ek = await agent.answer(started.challenges.tpm_ek as Record<string, unknown>, { akPub: ev.AKPub!, ekPub: ev.EKPub! })
      const verdict = await v.answer(started.sessionId, { tpm_ek: ek, join_token: proofFor(started.challenges.join_token) })
      expect(verdict.attestorTypes).toEqual(['join_token', 'tpm_ek'])
      expect(verdict.attributes['join_token.token_id']).toBe(TOKEN_ID)
      expect(verdict.attributes['tpm_ek.public_hash']).toBe(ekHash)
      expect(verdict.spiffeIdPath).toBe(`/nodes/${TOKEN_ID}/${ekHash}`)
      expect(verdict.selectors).toContainEqual({ type: 'tpm', value: `pub_hash:${ekHash}` })
      // answers are checked in registry order: tpm_ek's activation before join_token's proof
      const names = verdict.checks.map((c) => c.name)
      expect(names.indexOf('tpm_ek.credential_activation')).toBeLessThan(names.indexOf('join_token.proof'))
      // a missing join_token answer fails the AND
      const again = await v.start({
        providedMethods: ['tpm_ek', 'join_token'],
        evidence: { tpm_ek: ev, join_token: { Token: b64(TOKEN) } },
      })
      const ek2 = await agent.answer(again.challenges.tpm_ek as Record<string, unknown>, { akPub: ev.AKPub!, ekPub: ev.EKPub! })
      const missing = await v.answer(again.sessionId, { tpm_ek: ek2 }).catch((e: unknown) => e)
      expect((missing as VerifyError).code).toBe('ERR_EVIDENCE_MALFORMED')
    }, 60_000)
  })
})
