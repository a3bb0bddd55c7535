/**
 * The attestation verifier end to end on real swtpm evidence (test/vectors/swtpm) with a live
 * fixture TPM answering: RSA and ECC DevIDs, RSA and ECC EKs, RSA and ECC AKs, with and without
 * intermediates from the agent, EK trusted by CA, by hash, by either; EK-only; AND/OR policies;
 * key binding.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createAttestationVerifier, type Verdict } from '../../../core/attestation/verifier.ts'
import type { PolicySet } from '../../../core/policy/types.ts'
import { DEVID_INT, DEVID_ROOT, EK_INT, EK_ROOT, devidPolicy, ekHashOfPem, ekPolicy, pemToDer, policies, sha1Hex } from './fixtures.ts'
import { evidenceSet, LiveAgent, tpmt, vector, vectorB64, vectorText } from './live-agent.ts'

let a: LiveAgent
let b: LiveAgent
beforeAll(async () => {
  ;[a, b] = await Promise.all([LiveAgent.start('tpm-a'), LiveAgent.start('tpm-b')])
})
afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop()])
})

const EK_HASH_A_RSA = ekHashOfPem('tpm-a/ek-rsa.pem')
const EK_HASH_A_P256 = ekHashOfPem('tpm-a/ek-p256.pem')
const EK_HASH_B_RSA = ekHashOfPem('tpm-b/ek-rsa.pem')
const OTHER_HASH = 'ab'.repeat(32)

async function attest(
  agent: LiveAgent,
  set: PolicySet,
  evidence: Record<string, unknown>,
  methods: string[],
  opts: { binding?: Uint8Array; trustDomain?: string } = {},
): Promise<Verdict> {
  const v = createAttestationVerifier({ policies: set, ...(opts.trustDomain ? { trustDomain: opts.trustDomain } : {}) })
  const started = await v.start({ providedMethods: methods, evidence })
  expect(started.sessionId).toMatch(/^[A-Za-z0-9_-]{32}$/)
  const answers: Record<string, unknown> = {}
  for (const m of methods) {
    const ev = evidence[m] as Record<string, string>
    answers[m] = await agent.answer(started.challenges[m] as Record<string, unknown>, {
      ...(m === 'tpm_devid' ? { devIdPub: ev.DevIDPub } : {}),
      akPub: ev.AKPub!,
      ekPub: ev.EKPub!,
      ...(opts.binding ? { binding: opts.binding } : {}),
    })
  }
  return v.answer(started.sessionId, answers, opts.binding ? { binding: opts.binding } : {})
}

function expectAllChecksPassed(v: Verdict) {
  expect(v.ok).toBe(true)
  expect(v.checks.length).toBeGreaterThan(5)
  expect(v.checks.filter((c) => !c.ok)).toEqual([])
  // every committed swtpm fixture meets the strict DevID and EK profiles
  expect(v.tolerancesUsed).toEqual([])
}

describe('tpm_devid: success paths on real evidence', () => {
  it('RSA DevID + RSA AK + RSA EK, intermediate from the agent, EK trusted by CA: attributes, selectors, SPIFFE ID', async () => {
    const set = policies(devidPolicy({ devIDCACerts: DEVID_ROOT, endorsementCACerts: EK_ROOT + EK_INT }))
    const ev = evidenceSet('tpm-a-devid-rsa')
    expect((ev.DevIDCert as string[]).length).toBe(2)
    const v = await attest(a, set, { tpm_devid: ev }, ['tpm_devid'], { trustDomain: 'example.org' })
    expectAllChecksPassed(v)
    const leaf = vector('tpm-a/devid-rsa.crt.der')
    const fp = sha1Hex(leaf)
    expect(v.attributes).toEqual({
      'tpm_devid.certificate.fingerprint': fp,
      'tpm_devid.certificate.serial_number': 'b25c684b97ccda88',
      'tpm_devid.certificate.subject_cn': 'tpm-a-devid-rsa',
      'tpm_devid.certificate.issuer_cn': 'vouch test DevID Intermediate CA',
      'tpm_devid.ek.public_hash': EK_HASH_A_RSA,
      'tpm_devid.ek.serial_number': '02',
      'tpm_devid.ek.manufacturer': 'id:00001014',
      'tpm_devid.ek.model': 'swtpm',
      'tpm_devid.ek.version': 'id:20191023',
    })
    expect(v.selectors).toEqual([
      { type: 'tpm_devid', value: 'subject:cn:tpm-a-devid-rsa' },
      { type: 'tpm_devid', value: 'issuer:cn:vouch test DevID Intermediate CA' },
      { type: 'tpm_devid', value: `ca:fingerprint:${sha1Hex(pemToDer(DEVID_INT))}` },
      { type: 'tpm_devid', value: `ca:fingerprint:${sha1Hex(pemToDer(DEVID_ROOT))}` },
    ])
    expect(v.spiffeIdPath).toBe(`/agents/tpm-devid/${fp}`)
    expect(v.spiffeId).toBe(`spiffe://example.org/agents/tpm-devid/${fp}`)
    expect(v.policy).toBe('tpm_devid_policy')
    expect(v.attestorTypes).toEqual(['tpm_devid'])
    // the raw TPM2_Certify of the fixtures has empty qualifyingData (SPIRE's agent)
    expect(v.certifyExtraData).toBe('')
    // the committed fixtures meet the strict DevID and EK profiles: no tolerance used
    expect(v.tolerancesUsed).toEqual([])
    expect(v.checks.map((c) => c.name)).toEqual([
      'tpm_devid.evidence',
      'tpm_devid.devid.certificate',
      'tpm_devid.devid.chain',
      'tpm_devid.devid.profile',
      'tpm_devid.devid.public',
      'tpm_devid.devid.scheme_hash',
      'tpm_devid.devid.attributes',
      'tpm_devid.devid.key_binding',
      'tpm_devid.ak.public',
      'tpm_devid.ak.attributes',
      'tpm_devid.certify',
      'tpm_devid.ek.public',
      'tpm_devid.ek.certificate',
      'tpm_devid.ek.key_match',
      'tpm_devid.ek.profile',
      'tpm_devid.ek.trust',
      'spiffe_id',
      'tpm_devid.challenge',
      'session',
      'tpm_devid.answer',
      'tpm_devid.devid.proof_of_possession',
      'tpm_devid.credential_activation',
    ])
    // nothing secret in the verdict: no base64 or hex of 32 random bytes beyond the public values
    const text = JSON.stringify(v)
    expect(text).not.toMatch(/[A-Za-z0-9+/]{43}=/)
  })

  it('all RSA: an RSA DevID CA chain (devid-ca-rsa) over the same TPM evidence; only the RSA DevID root authorizes it', async () => {
    const rsaRoot = vectorText('devid-ca-rsa/root.pem')
    const ev = evidenceSet('tpm-a-devid-rsa-rsa-ca')
    const v = await attest(
      a,
      policies(devidPolicy({ devIDCACerts: DEVID_ROOT + rsaRoot, endorsementCACerts: EK_ROOT + EK_INT })),
      { tpm_devid: ev },
      ['tpm_devid'],
    )
    expectAllChecksPassed(v)
    const leaf = vector('tpm-a/devid-rsa.rsa-ca.crt.der')
    expect(v.attributes['tpm_devid.certificate.fingerprint']).toBe(sha1Hex(leaf))
    expect(v.attributes['tpm_devid.certificate.issuer_cn']).toBe('vouch test DevID RSA Intermediate CA')
    expect(v.selectors).toContainEqual({ type: 'tpm_devid', value: `ca:fingerprint:${sha1Hex(pemToDer(rsaRoot))}` })
    // under the P-256 DevID root alone the same evidence is refused at the chain
    const refused = await createAttestationVerifier({
      policies: policies(devidPolicy({ devIDCACerts: DEVID_ROOT, endorsementCACerts: EK_ROOT + EK_INT })),
    })
      .start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidenceSet('tpm-a-devid-rsa-rsa-ca') } })
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    expect(refused).toMatchObject({ code: 'ERR_DEVID_CHAIN' })
  })

  it('P-256 DevID without intermediates from the agent (configured instead), EK trusted by hash only', async () => {
    const set = policies(devidPolicy({ devIDCACerts: DEVID_ROOT + DEVID_INT, allowedEKHashes: [EK_HASH_A_RSA] }))
    const ev = { ...evidenceSet('tpm-a-devid-p256') }
    ev.DevIDCert = [(ev.DevIDCert as string[])[0]]
    const v = await attest(a, set, { tpm_devid: ev }, ['tpm_devid'])
    expectAllChecksPassed(v)
    expect(v.attributes['tpm_devid.certificate.subject_cn']).toBe('tpm-a-devid-p256')
    expect(v.checks.find((c) => c.name === 'tpm_devid.ek.trust')!.detail).toMatch(/^trusted by hash/)
  })

  it('P-256 DevID certified by a P-256 AK, with the P-256 EK and its certificate, trusted by either (CA passes, hash not listed)', async () => {
    const set = policies(devidPolicy({ devIDCACerts: DEVID_ROOT, endorsementCACerts: EK_ROOT + EK_INT, allowedEKHashes: [OTHER_HASH] }))
    const ev = { ...evidenceSet('tpm-a-devid-p256-ak-ecc'), EKPub: tpmt('tpm-a', 'ek-p256'), EKCert: vectorB64('tpm-a/ek-p256.crt.der') }
    expect(ev.EKPub).toBe(a.ekPubOf('ecc'))
    const v = await attest(a, set, { tpm_devid: ev }, ['tpm_devid'])
    expectAllChecksPassed(v)
    expect(v.attributes['tpm_devid.ek.public_hash']).toBe(EK_HASH_A_P256)
    expect(v.checks.find((c) => c.name === 'tpm_devid.ek.trust')!.detail).toMatch(/^trusted by CA/)
  })

  it('RSA DevID with an ECC EK (intermediate EK CA from the agent as NV intermediates), either-trust where only the hash passes', async () => {
    const set = policies(devidPolicy({ devIDCACerts: DEVID_ROOT, endorsementCACerts: DEVID_ROOT, allowedEKHashes: [EK_HASH_A_P256] }))
    const ev = { ...evidenceSet('tpm-a-devid-rsa'), EKPub: tpmt('tpm-a', 'ek-p256'), EKCert: vectorB64('tpm-a/ek-p256.crt.der') }
    const v = await attest(a, set, { tpm_devid: ev }, ['tpm_devid'])
    expectAllChecksPassed(v)
    expect(v.checks.find((c) => c.name === 'tpm_devid.ek.trust')!.detail).toMatch(/^trusted by hash/)
  })

  it('EK intermediate from the agent (EKIntermediates, as read from NV) with only the EK root configured', async () => {
    const set = policies(devidPolicy({ devIDCACerts: DEVID_ROOT, endorsementCACerts: EK_ROOT }))
    const ev = { ...evidenceSet('tpm-b-devid-rsa'), EKIntermediates: [Buffer.from(pemToDer(EK_INT)).toString('base64')] }
    const v = await attest(b, set, { tpm_devid: ev }, ['tpm_devid'])
    expectAllChecksPassed(v)
    expect(v.attributes['tpm_devid.ek.public_hash']).toBe(EK_HASH_B_RSA)
  })

  it('binds the answer to a new key: DevID signs nonce || binding, activation proof is HMAC(secret, binding)', async () => {
    const set = policies(devidPolicy({ devIDCACerts: DEVID_ROOT, allowedEKHashes: [EK_HASH_B_RSA] }))
    const binding = new Uint8Array(createHash('sha256').update('a new SVID key SPKI').digest())
    const v = await attest(b, set, { tpm_devid: evidenceSet('tpm-b-devid-rsa') }, ['tpm_devid'], { binding })
    expectAllChecksPassed(v)
    expect(v.checks.find((c) => c.name === 'tpm_devid.devid.proof_of_possession')!.detail).toMatch(/key binding/)
  })

  it('a policy SPIFFE ID template with other attributes', async () => {
    const set = policies(
      devidPolicy(
        { devIDCACerts: DEVID_ROOT, allowedEKHashes: [EK_HASH_A_RSA] },
        {
          spiffeIDTemplate: '/nodes/{{tpm_devid.certificate.subject_cn}}/ek/{{tpm_devid.ek.public_hash}}',
        },
      ),
    )
    const v = await attest(a, set, { tpm_devid: evidenceSet('tpm-a-devid-rsa') }, ['tpm_devid'])
    expect(v.spiffeIdPath).toBe(`/nodes/tpm-a-devid-rsa/ek/${EK_HASH_A_RSA}`)
  })
})

describe('tpm_ek (EK-only) and policy combination', () => {
  it('EK-only with an EK certificate trusted by CA: tpm_ek attributes, SPIRE tpm selector, default SPIFFE ID', async () => {
    const set = policies(ekPolicy({ endorsementCACerts: EK_ROOT + EK_INT }))
    const v = await attest(a, set, { tpm_ek: evidenceSet('tpm-a-ek') }, ['tpm_ek'])
    expectAllChecksPassed(v)
    expect(v.attributes).toEqual({
      'tpm_ek.public_hash': EK_HASH_A_RSA,
      'tpm_ek.serial_number': '02',
      'tpm_ek.manufacturer': 'id:00001014',
      'tpm_ek.model': 'swtpm',
      'tpm_ek.version': 'id:20191023',
    })
    expect(v.selectors).toEqual([{ type: 'tpm', value: `pub_hash:${EK_HASH_A_RSA}` }])
    expect(v.spiffeIdPath).toBe(`/agents/tpm-ek/${EK_HASH_A_RSA}`)
  })

  it('EK-only without a certificate, trusted by hash: only public_hash', async () => {
    const set = policies(ekPolicy({ allowedEKHashes: [EK_HASH_A_P256] }))
    const ev = { EKPub: tpmt('tpm-a', 'ek-p256'), AKPub: tpmt('tpm-a', 'ak-ecc') }
    const v = await attest(a, set, { tpm_ek: ev }, ['tpm_ek'])
    expectAllChecksPassed(v)
    expect(v.attributes).toEqual({ 'tpm_ek.public_hash': EK_HASH_A_P256 })
  })

  it('AND: a policy requiring tpm_devid and tpm_ek passes only with both; attributes are merged', async () => {
    const set = policies({
      name: 'both',
      requiredAttestors: [
        { type: 'tpm_devid', config: { devIDCACerts: DEVID_ROOT, allowedEKHashes: [EK_HASH_A_RSA] } },
        { type: 'tpm_ek', config: { allowedEKHashes: [EK_HASH_A_RSA] } },
      ],
    })
    const v = await attest(a, set, { tpm_devid: evidenceSet('tpm-a-devid-rsa'), tpm_ek: evidenceSet('tpm-a-ek') }, ['tpm_devid', 'tpm_ek'])
    expectAllChecksPassed(v)
    expect(v.attestorTypes).toEqual(['tpm_devid', 'tpm_ek'])
    expect(v.attributes['tpm_ek.public_hash']).toBe(EK_HASH_A_RSA)
    expect(v.attributes['tpm_devid.ek.public_hash']).toBe(EK_HASH_A_RSA)
  })

  it('OR: the first policy fails its checks (wrong DevID CA), the second authorizes', async () => {
    const set = policies(
      devidPolicy({ devIDCACerts: EK_ROOT, allowedEKHashes: [EK_HASH_A_RSA] }, {}, 'wrong-ca'),
      devidPolicy({ devIDCACerts: DEVID_ROOT, allowedEKHashes: [EK_HASH_A_RSA] }, {}, 'right-ca'),
    )
    const v = await attest(a, set, { tpm_devid: evidenceSet('tpm-a-devid-rsa') }, ['tpm_devid'])
    expect(v.policy).toBe('right-ca')
  })
})
