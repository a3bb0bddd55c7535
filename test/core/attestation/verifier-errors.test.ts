/**
 * One test per named error, each from real swtpm evidence bent the way an attacker would
 * (test/vectors/swtpm/sets/bent-*.json and in-test edits), with a live TPM where the attack
 * reaches the answer step.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AttestationFailure } from '../../../core/attestor/checks.ts'
import { createAttestationVerifier, type AttestationVerifier } from '../../../core/attestation/verifier.ts'
import { AttestationError, PolicyError, VerifyError } from '../../../core/errors.ts'
import type { PolicySet } from '../../../core/policy/types.ts'
import { createMemorySessionStore } from '../../../core/session/store.ts'
import { makeRandomSessionKeyring } from '../../../core/session/sealed.ts'
import { createMemoryUseOnceStore } from '../../../core/session/use-once.ts'
import { withPlatform } from '../../../core/platform.ts'
import { DEVID_ROOT, EK_INT, EK_ROOT, devidPolicy, ekHashOfPem, ekPolicy, policies } from './fixtures.ts'
import { evidenceSet, LiveAgent, tpmt, vectorB64 } from './live-agent.ts'

let a: LiveAgent
beforeAll(async () => {
  a = await LiveAgent.start('tpm-a')
})
afterAll(async () => {
  await a?.stop()
})

const EK_HASH_A_RSA = ekHashOfPem('tpm-a/ek-rsa.pem')
const CA_TRUST = policies(devidPolicy({ devIDCACerts: DEVID_ROOT, endorsementCACerts: EK_ROOT + EK_INT }))
const HASH_TRUST = policies(devidPolicy({ devIDCACerts: DEVID_ROOT, allowedEKHashes: [EK_HASH_A_RSA] }))

async function startError(set: PolicySet, evidence: Record<string, unknown>, methods = ['tpm_devid']): Promise<VerifyError> {
  const v = createAttestationVerifier({ policies: set })
  const e = await v.start({ providedMethods: methods, evidence }).then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(e).toBeInstanceOf(VerifyError)
  return e as VerifyError
}

function expectFailure(e: VerifyError, code: string, message: string, check?: string) {
  expect(e.code).toBe(code)
  expect(e.message).toBe(message)
  expect(e).toBeInstanceOf(AttestationFailure)
  if (check) {
    const f = e as AttestationFailure
    const last = f.checks[f.checks.length - 1]!
    expect(last).toMatchObject({ name: check, ok: false })
    expect(f.checks.slice(0, -1).every((c) => c.ok)).toBe(true)
  }
}

const devid = (name = 'tpm-a-devid-rsa') => ({ ...evidenceSet(name) }) as Record<string, unknown>

describe('static checks refuse bent evidence before any challenge', () => {
  it('verify DevID certificate chain: a DevID leaf against another CA', async () => {
    const e = await startError(policies(devidPolicy({ devIDCACerts: EK_ROOT, allowedEKHashes: [EK_HASH_A_RSA] })), { tpm_devid: devid() })
    expectFailure(e, 'ERR_DEVID_CHAIN', 'verify DevID certificate chain', 'tpm_devid.devid.chain')
  })

  it('verify DevID certificate chain: an expired DevID (injected clock 20 years on)', async () => {
    const v = createAttestationVerifier({ policies: HASH_TRUST, platform: withPlatform({ now: () => Date.now() + 20 * 365 * 86400_000 }) })
    const e = (await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: devid() } }).catch((x: unknown) => x)) as VerifyError
    expectFailure(e, 'ERR_DEVID_CHAIN', 'verify DevID certificate chain', 'tpm_devid.devid.chain')
  })

  it('EK validation failed: EK certificate under an untrusted CA and not in the hash list', async () => {
    const set = policies(devidPolicy({ devIDCACerts: DEVID_ROOT, endorsementCACerts: DEVID_ROOT, allowedEKHashes: ['cd'.repeat(32)] }))
    const e = await startError(set, { tpm_devid: devid() })
    expectFailure(e, 'ERR_EK_UNTRUSTED', 'EK validation failed', 'tpm_devid.ek.trust')
  })

  it('EK validation failed: no EK certificate and the EK hash is not allow-listed', async () => {
    const ev = devid()
    delete ev.EKCert
    const e = await startError(policies(devidPolicy({ devIDCACerts: DEVID_ROOT, allowedEKHashes: ['cd'.repeat(32)] })), { tpm_devid: ev })
    expectFailure(e, 'ERR_EK_UNTRUSTED', 'EK validation failed', 'tpm_devid.ek.trust')
  })

  it('missing EK certificate: no EKCert and the policy has no EK hash allow-list', async () => {
    const ev = devid()
    ev.EKCert = null
    const e = await startError(CA_TRUST, { tpm_devid: ev })
    expectFailure(
      e,
      'ERR_EK_MISSING_CERTIFICATE',
      'missing EK certificate: signer is not configured with an EK hash allow-list',
      'tpm_devid.ek.certificate',
    )
  })

  it('EK public key mismatch: an EK certificate copied from another TPM (same CA)', async () => {
    const e = await startError(CA_TRUST, { tpm_devid: devid('bent-ek-cert-other-tpm') })
    expectFailure(e, 'ERR_EK_MISMATCH', 'EK public key mismatch', 'tpm_devid.ek.key_match')
  })

  it('DevID certification verification failed: a DevID created in a second swtpm, certified by the first TPM AK', async () => {
    const e = await startError(CA_TRUST, { tpm_devid: devid('bent-devid-from-other-tpm') })
    expectFailure(e, 'ERR_DEVID_CERTIFICATION', 'DevID certification verification failed', 'tpm_devid.certify')
    expect((e as AttestationFailure).checks.at(-1)!.detail).toMatch(/ERR_TPM2_NAME_MISMATCH/)
  })

  it('DevID certification verification failed: a certify signed by the AK of another TPM', async () => {
    const ev = { ...devid(), CertificationSignature: vectorB64('tpm-b/certify-devid-rsa-by-ak-rsa.sig') }
    const e = await startError(CA_TRUST, { tpm_devid: ev })
    expectFailure(e, 'ERR_DEVID_CERTIFICATION', 'DevID certification verification failed', 'tpm_devid.certify')
  })

  it('DevID certification verification failed: an ECDSA TPMT_SIGNATURE presented for an RSA AK (SPIRE G5 panics here)', async () => {
    const ev = { ...devid(), CertificationSignature: vectorB64('tpm-a/certify-devid-p256-by-ak-ecc.sig') }
    const e = await startError(CA_TRUST, { tpm_devid: ev })
    expectFailure(e, 'ERR_DEVID_CERTIFICATION', 'DevID certification verification failed', 'tpm_devid.certify')
    expect((e as AttestationFailure).checks.at(-1)!.detail).toMatch(/ERR_TPM2_SCHEME_MISMATCH/)
  })

  it('DevID certificate public key does not match TPM-resident DevID key: a valid DevID certificate for another key', async () => {
    const e = await startError(CA_TRUST, { tpm_devid: devid('bent-devid-cert-other-key') })
    expectFailure(
      e,
      'ERR_DEVID_KEY_MISMATCH',
      'DevID certificate public key does not match TPM-resident DevID key',
      'tpm_devid.devid.key_binding',
    )
  })

  it('DevID public: unsupported hash algorithm: a DevID key with an RSASSA-SHA384 scheme', async () => {
    const e = await startError(CA_TRUST, { tpm_devid: devid('bent-devid-sha384') })
    expectFailure(
      e,
      'ERR_DEVID_UNSUPPORTED_HASH',
      'DevID public: unsupported hash algorithm SHA384: only SHA-256 is supported',
      'tpm_devid.devid.scheme_hash',
    )
  })

  it('AK attributes: an AK created with sign-only attributes (no restricted) that certified the DevID', async () => {
    const e = await startError(CA_TRUST, { tpm_devid: devid('bent-ak-not-restricted') })
    expectFailure(
      e,
      'ERR_TPM2_ATTRIBUTES',
      'AK public: attributes do not make a restricted, TPM-resident signing key',
      'tpm_devid.ak.attributes',
    )
    expect((e as AttestationFailure).checks.at(-1)!.detail).toMatch(/missing restricted/)
  })

  it('no cluster policy authorizes the provided attestors: offered methods match no policy', async () => {
    const e = await startError(CA_TRUST, { tpm_ek: evidenceSet('tpm-a-ek') }, ['tpm_ek'])
    expect(e).toBeInstanceOf(PolicyError)
    expect(e.code).toBe('ERR_POLICY_DENIED')
    expect(e.message).toBe('no cluster policy authorizes the provided attestors')
    const e2 = await startError(policies(ekPolicy({ allowedEKHashes: [EK_HASH_A_RSA] })), { tpm_devid: devid() }, [
      'tpm_devid',
      'tpm_quote',
    ])
    expect(e2.message).toBe('no cluster policy authorizes the provided attestors')
  })

  it('malformed and oversized evidence are refused before any crypto', async () => {
    expectFailure(
      await startError(CA_TRUST, { tpm_devid: { ...devid(), AKPub: 7 } }),
      'ERR_EVIDENCE_MALFORMED',
      'tpm_devid.AKPub: expected a base64 string, found number',
    )
    expectFailure(
      await startError(CA_TRUST, { tpm_devid: { ...devid(), DevIDCert: [] } }),
      'ERR_EVIDENCE_MALFORMED',
      'tpm_devid.DevIDCert: expected at least 1 certificate',
    )
    expectFailure(
      await startError(CA_TRUST, { tpm_devid: { ...devid(), DevIDPub: undefined } }),
      'ERR_EVIDENCE_MALFORMED',
      'tpm_devid.DevIDPub: missing',
    )
    expectFailure(
      await startError(CA_TRUST, { tpm_devid: { ...devid(), EKPub: 'A'.repeat(2000) } }),
      'ERR_INPUT_TOO_LARGE',
      'tpm_devid.EKPub: 2000 base64 characters exceed the bound of 1024 bytes',
    )
    const nine = Array.from({ length: 9 }, () => (devid().DevIDCert as string[])[0])
    expectFailure(
      await startError(CA_TRUST, { tpm_devid: { ...devid(), DevIDCert: nine } }),
      'ERR_INPUT_TOO_LARGE',
      'tpm_devid.DevIDCert: 9 certificates exceed the bound of 8',
    )
    expectFailure(await startError(CA_TRUST, { tpm_devid: 'x' }), 'ERR_EVIDENCE_MALFORMED', 'tpm_devid: expected an object, found string')
    expectFailure(
      await startError(CA_TRUST, { tpm_devid: { ...devid(), AKPub: 'AAA' } }),
      'ERR_EVIDENCE_MALFORMED',
      'tpm_devid.AKPub: base64 length is not a multiple of 4',
    )
  })

  it('the session store is full: a clear error, and the store still serves the sessions it holds', async () => {
    const sessions = createMemorySessionStore({ capacity: 1 })
    const v = createAttestationVerifier({ policies: HASH_TRUST, sessions })
    const first = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: devid() } })
    const e = (await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: devid() } }).catch((x: unknown) => x)) as VerifyError
    expect(e).toBeInstanceOf(AttestationError)
    expect(e.code).toBe('ERR_SESSION_STORE_FULL')
    expect(await sessions.size()).toBe(1)
    const ev = devid() as Record<string, string>
    const ans = await a.answer(first.challenges.tpm_devid as Record<string, unknown>, {
      devIdPub: ev.DevIDPub!,
      akPub: ev.AKPub!,
      ekPub: ev.EKPub!,
    })
    expect((await v.answer(first.sessionId, { tpm_devid: ans })).ok).toBe(true)
  })
})

// both session modes: the in-memory store, and sealed sessions with use-once records
describe.each(['memory', 'sealed'] as const)('answer-stage attacks against a live TPM (%s sessions)', (mode) => {
  let v: AttestationVerifier
  let now = Date.now()
  beforeAll(() => {
    const platform = withPlatform({ now: () => now })
    v = createAttestationVerifier({
      policies: HASH_TRUST,
      platform,
      ...(mode === 'sealed'
        ? { sealedSessions: { keyring: makeRandomSessionKeyring(platform), useOnce: createMemoryUseOnceStore({ now: () => now }) } }
        : {}),
    })
  })
  const ev = devid() as Record<string, string>
  const spec = { devIdPub: ev.DevIDPub!, akPub: ev.AKPub!, ekPub: ev.EKPub! }

  async function answerError(sessionId: string, answers: Record<string, unknown>): Promise<AttestationFailure> {
    const e = await v.answer(sessionId, answers).then(
      () => undefined,
      (x: unknown) => x,
    )
    expect(e).toBeInstanceOf(AttestationFailure)
    return e as AttestationFailure
  }

  it('DevID signature verification failed: the nonce signed by another TPM-resident key (the P-256 DevID)', async () => {
    const s = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    const honest = await a.answer(s.challenges.tpm_devid as Record<string, unknown>, spec)
    const nonce = new Uint8Array(Buffer.from((s.challenges.tpm_devid as { DevID: string }).DevID, 'base64'))
    const forged = Buffer.from(await a.sign(tpmt('tpm-a', 'devid-p256'), nonce)).toString('base64')
    const e = await answerError(s.sessionId, { tpm_devid: { ...honest, DevID: forged } })
    expectFailure(e, 'ERR_DEVID_SIGNATURE', 'DevID signature verification failed', 'tpm_devid.devid.proof_of_possession')
  })

  it('DevID signature verification failed: a genuine DevID signature over another nonce (a replayed old signature)', async () => {
    const s = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    const stale = await a.answer(s.challenges.tpm_devid as Record<string, unknown>, { ...spec, signOverride: new Uint8Array(32).fill(7) })
    const e = await answerError(s.sessionId, { tpm_devid: stale })
    expectFailure(e, 'ERR_DEVID_SIGNATURE', 'DevID signature verification failed', 'tpm_devid.devid.proof_of_possession')
  })

  it('credential activation secret does not match: a wrong activated secret with a valid DevID signature', async () => {
    const s = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    const honest = await a.answer(s.challenges.tpm_devid as Record<string, unknown>, spec)
    const secret = Buffer.from(honest.CredActivation!, 'base64')
    secret[31]! ^= 1
    const e = await answerError(s.sessionId, { tpm_devid: { ...honest, CredActivation: secret.toString('base64') } })
    expectFailure(e, 'ERR_CREDENTIAL_MISMATCH', 'credential activation secret does not match', 'tpm_devid.credential_activation')
    // the secret never appears in the error or its checks
    expect(JSON.stringify({ m: e.message, c: e.checks, d: e.detail })).not.toContain(honest.CredActivation!)
  })

  it('credential activation: tpm-b cannot activate a credential made for tpm-a EK (bent-ak-from-other-tpm)', async () => {
    const b = await LiveAgent.start('tpm-b')
    try {
      const bent = evidenceSet('bent-ak-from-other-tpm') as Record<string, string>
      const vb = createAttestationVerifier({ policies: CA_TRUST })
      const s = await vb.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: bent } })
      const ch = s.challenges.tpm_devid as { DevID: string; CredActivation: { Credential: string; Secret: string } }
      // the attacker's TPM holds the AK but not tpm-a's EK: activation with its own EK fails in the TPM
      await expect(b.activate(ch.CredActivation, bent.AKPub!, b.ekPubOf('rsa'))).rejects.toThrow(/tpm2_activatecredential/)
      const sig = Buffer.from(await b.sign(bent.DevIDPub!, new Uint8Array(Buffer.from(ch.DevID, 'base64')))).toString('base64')
      const e = await vb
        .answer(s.sessionId, { tpm_devid: { DevID: sig, CredActivation: Buffer.alloc(32).toString('base64') } })
        .catch((x: unknown) => x)
      expectFailure(
        e as VerifyError,
        'ERR_CREDENTIAL_MISMATCH',
        'credential activation secret does not match',
        'tpm_devid.credential_activation',
      )
    } finally {
      await b.stop()
    }
  })

  it('unknown session ID: an honest answer replayed to an answered session, and a made-up ID', async () => {
    const s = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    const honest = await a.answer(s.challenges.tpm_devid as Record<string, unknown>, spec)
    expect((await v.answer(s.sessionId, { tpm_devid: honest })).ok).toBe(true)
    expectFailure(await answerError(s.sessionId, { tpm_devid: honest }), 'ERR_SESSION_UNKNOWN', 'unknown session ID')
    expectFailure(await answerError('A'.repeat(32), { tpm_devid: honest }), 'ERR_SESSION_UNKNOWN', 'unknown session ID')
    expectFailure(await answerError('../../etc', { tpm_devid: honest }), 'ERR_SESSION_UNKNOWN', 'unknown session ID')
  })

  it('a failed answer also consumes the session: a corrected retry is unknown', async () => {
    const s = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    const honest = await a.answer(s.challenges.tpm_devid as Record<string, unknown>, spec)
    await answerError(s.sessionId, { tpm_devid: { ...honest, CredActivation: Buffer.alloc(32).toString('base64') } })
    expectFailure(await answerError(s.sessionId, { tpm_devid: honest }), 'ERR_SESSION_UNKNOWN', 'unknown session ID')
  })

  it('attestation session expired: an honest answer after 5 minutes (injected clock), then unknown', async () => {
    const s = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    expect(s.expiresAt - now).toBe(5 * 60 * 1000)
    const honest = await a.answer(s.challenges.tpm_devid as Record<string, unknown>, spec)
    now += 5 * 60 * 1000 + 1
    expectFailure(await answerError(s.sessionId, { tpm_devid: honest }), 'ERR_SESSION_EXPIRED', 'attestation session expired', 'session')
    expectFailure(await answerError(s.sessionId, { tpm_devid: honest }), 'ERR_SESSION_UNKNOWN', 'unknown session ID')
  })

  it('malformed answers are refused (and consume the session)', async () => {
    const s = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    const e = await answerError(s.sessionId, { tpm_devid: { DevID: 'AAAA', CredActivation: 'A'.repeat(200) } })
    expectFailure(
      e,
      'ERR_INPUT_TOO_LARGE',
      'tpm_devid answer.CredActivation: 200 base64 characters exceed the bound of 64 bytes',
      'tpm_devid.answer',
    )
  })
})
