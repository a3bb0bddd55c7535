/**
 * The verifier with sealed sessions (core/session/sealed.ts) against a live swtpm: a start leaves
 * no server state, another verifier holding the keyring (a restart, another replica) answers it,
 * the use-once record refuses a replay even when two answers race, and a session sealed with a
 * retired key gets its own message.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { AttestationFailure } from '../../../core/attestor/checks.ts'
import { createAttestationVerifier, type Verdict } from '../../../core/attestation/verifier.ts'
import { fromBase64Url, toBase64Url } from '../../../core/bytes/encoding.ts'
import { SESSION_EXPIRED, SESSION_KEY_RETIRED, UNKNOWN_SESSION } from '../../../core/messages.ts'
import { isWellFormedSealedToken, makeSessionKeyring } from '../../../core/session/sealed.ts'
import { createMemorySessionStore } from '../../../core/session/store.ts'
import { createMemoryUseOnceStore, type UseOnceClaim } from '../../../core/session/use-once.ts'
import { DEVID_ROOT, devidPolicy, ekHashOfPem, policies } from './fixtures.ts'
import { evidenceSet, LiveAgent } from './live-agent.ts'

let a: LiveAgent
beforeAll(async () => {
  a = await LiveAgent.start('tpm-a')
})
afterAll(async () => {
  await a?.stop()
})

const POLICIES = policies(devidPolicy({ devIDCACerts: DEVID_ROOT, allowedEKHashes: [ekHashOfPem('tpm-a/ek-rsa.pem')] }))
const ev = { ...evidenceSet('tpm-a-devid-rsa') } as Record<string, string>
const spec = { devIdPub: ev.DevIDPub!, akPub: ev.AKPub!, ekPub: ev.EKPub! }
const key = (b: number) => new Uint8Array(32).fill(b)
const ringK1 = makeSessionKeyring([{ id: 'k1', key: key(1), seal: true }])

function sealedVerifier(keyring = ringK1, useOnce = createMemoryUseOnceStore()) {
  return createAttestationVerifier({ policies: POLICIES, sealedSessions: { keyring, useOnce } })
}

async function failure(p: Promise<unknown>): Promise<AttestationFailure> {
  const e = await p.then(
    () => undefined,
    (x: unknown) => x,
  )
  expect(e).toBeInstanceOf(AttestationFailure)
  return e as AttestationFailure
}

describe('sealed sessions in the verifier', () => {
  it('a start leaves no state; another verifier with the keyring and the shared use-once store answers it once', async () => {
    const useOnce = createMemoryUseOnceStore()
    const starter = sealedVerifier(ringK1, useOnce)
    const s = await starter.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    expect(isWellFormedSealedToken(s.sessionId)).toBe(true)
    expect(s.sessionId.length).toBeLessThan(8192)
    expect(await useOnce.size()).toBe(0)
    const honest = await a.answer(s.challenges.tpm_devid as Record<string, unknown>, spec)
    const replica = sealedVerifier(ringK1, useOnce) // a restart, or another replica
    const verdict = await replica.answer(s.sessionId, { tpm_devid: honest })
    expect(verdict.ok).toBe(true)
    expect(verdict.checks.find((c) => c.name === 'session')).toMatchObject({ ok: true })
    expect(await useOnce.size()).toBe(1)
    // replayed on either: unknown
    for (const v of [starter, replica]) {
      const e = await failure(v.answer(s.sessionId, { tpm_devid: honest }))
      expect([e.code, e.message]).toEqual(['ERR_SESSION_UNKNOWN', UNKNOWN_SESSION])
    }
  })

  it('two answers racing with one sealed session: exactly one passes, the other is unknown', async () => {
    const v = sealedVerifier()
    const s = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    const honest = await a.answer(s.challenges.tpm_devid as Record<string, unknown>, spec)
    const results = await Promise.allSettled([v.answer(s.sessionId, { tpm_devid: honest }), v.answer(s.sessionId, { tpm_devid: honest })])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const refused = results.find((r) => r.status === 'rejected') as PromiseRejectedResult
    expect([refused.reason.code, refused.reason.message]).toEqual(['ERR_SESSION_UNKNOWN', UNKNOWN_SESSION])
  })

  it('a session sealed with a retired key: its own message; a tampered or foreign token: unknown', async () => {
    const s = await sealedVerifier().start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    const honest = await a.answer(s.challenges.tpm_devid as Record<string, unknown>, spec)
    const rotatedOut = makeSessionKeyring([
      { id: 'k2', key: key(2), seal: true },
      { id: 'k1', key: key(1), retired: true },
    ])
    const e = await failure(sealedVerifier(rotatedOut).answer(s.sessionId, { tpm_devid: honest }))
    expect([e.code, e.message]).toEqual(['ERR_SESSION_KEY_RETIRED', SESSION_KEY_RETIRED])
    expect(e.detail).toEqual({ keyId: 'k1' })
    const foreign = makeSessionKeyring([{ id: 'k2', key: key(2), seal: true }])
    expect((await failure(sealedVerifier(foreign).answer(s.sessionId, { tpm_devid: honest }))).code).toBe('ERR_SESSION_UNKNOWN')
    const bytes = fromBase64Url(s.sessionId)
    bytes[bytes.length - 20]! ^= 1
    expect((await failure(sealedVerifier().answer(toBase64Url(bytes), { tpm_devid: honest }))).code).toBe('ERR_SESSION_UNKNOWN')
    // still listed for reading (not retired): the session is answered
    const rotated = makeSessionKeyring([
      { id: 'k2', key: key(2), seal: true },
      { id: 'k1', key: key(1) },
    ])
    expect((await sealedVerifier(rotated).answer(s.sessionId, { tpm_devid: honest })).ok).toBe(true)
  })

  it('a memory-mode id is unknown to a sealed verifier, and sessions with sealedSessions is refused', async () => {
    const e = await failure(sealedVerifier().answer('A'.repeat(32), {}))
    expect([e.code, e.message]).toEqual(['ERR_SESSION_UNKNOWN', UNKNOWN_SESSION])
    expect(() =>
      createAttestationVerifier({
        policies: POLICIES,
        sessions: createMemorySessionStore(),
        sealedSessions: { keyring: ringK1, useOnce: createMemoryUseOnceStore() },
      }),
    ).toThrow(TypeError)
  })
})

describe('sealed sessions settled by the caller (AnswerOptions.settle): one claim, after the checks, with the verdict', () => {
  /** a settle over a use-once store, as a server's one-transaction commit does it; logs each call */
  function settler(useOnce = createMemoryUseOnceStore()) {
    const calls: { id: string; verdict: boolean }[] = []
    const settle = async (claim: UseOnceClaim, verdict: Verdict | undefined) => {
      calls.push({ id: claim.id, verdict: verdict !== undefined })
      return useOnce.claim(claim.id, claim.expiresAt)
    }
    return { useOnce, calls, settle }
  }

  /** a key proof that always holds, and counts how often the verifier asked for it */
  const countedKeyProof = () => {
    const proof = {
      calls: 0,
      proveKey: async () => {
        proof.calls++
        return 'proven'
      },
    }
    return proof
  }

  it('a passing answer: settle is called once with the verdict, and the claim it made refuses a replay before any check', async () => {
    const { useOnce, calls, settle } = settler()
    const v = sealedVerifier(ringK1, useOnce)
    const s = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    const honest = await a.answer(s.challenges.tpm_devid as Record<string, unknown>, spec)
    const proof = countedKeyProof()
    const proveKey = proof.proveKey
    const verdict = await v.answer(s.sessionId, { tpm_devid: honest }, { settle, proveKey })
    expect(verdict.ok).toBe(true)
    expect(calls).toEqual([{ id: expect.any(String), verdict: true }])
    expect(await useOnce.size()).toBe(1)
    // replayed: the store knows the id (UseOnceStore.seen), so no check runs and settle is not called
    const e = await failure(v.answer(s.sessionId, { tpm_devid: honest }, { settle, proveKey }))
    expect([e.code, e.message]).toEqual(['ERR_SESSION_UNKNOWN', UNKNOWN_SESSION])
    expect(proof.calls).toBe(1)
    expect(calls).toHaveLength(1)
  })

  it('a failing answer burns the session: settle gets no verdict, the failure keeps its code, and the session is then unknown', async () => {
    const { useOnce, calls, settle } = settler()
    const v = sealedVerifier(ringK1, useOnce)
    const s = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    const honest = (await a.answer(s.challenges.tpm_devid as Record<string, unknown>, spec)) as Record<string, string>
    const wrong = { ...honest, CredActivation: Buffer.alloc(32, 7).toString('base64') }
    const e = await failure(v.answer(s.sessionId, { tpm_devid: wrong }, { settle }))
    expect(e.code).not.toBe('ERR_SESSION_UNKNOWN')
    expect(calls).toEqual([{ id: expect.any(String), verdict: false }])
    const again = await failure(v.answer(s.sessionId, { tpm_devid: honest }, { settle }))
    expect(again.code).toBe('ERR_SESSION_UNKNOWN')
  })

  it('a session used elsewhere (a replica whose use-once hint this one lacks): the checks run, settle says false, the answer is unknown', async () => {
    const shared = createMemoryUseOnceStore()
    const v = sealedVerifier(ringK1, createMemoryUseOnceStore())
    const s = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    const honest = await a.answer(s.challenges.tpm_devid as Record<string, unknown>, spec)
    // the shared store has the claim already (the other replica answered); this verifier's local store has no hint
    const settleShared = async (claim: UseOnceClaim) => shared.claim(claim.id, claim.expiresAt)
    await v.answer(s.sessionId, { tpm_devid: honest }, { settle: settleShared })
    const e = await failure(v.answer(s.sessionId, { tpm_devid: honest }, { settle: settleShared }))
    expect([e.code, e.message]).toEqual(['ERR_SESSION_UNKNOWN', UNKNOWN_SESSION])
  })

  it('a replay checked in time on a replica whose settle commits past expiry + grace, the first record purged meanwhile: expired, no second verdict', async () => {
    let t = Date.now() // the shared store's clock: when each claim is committed
    const shared = createMemoryUseOnceStore({ now: () => t })
    const settleShared = async (claim: UseOnceClaim) => shared.claim(claim.id, claim.expiresAt)
    const v = sealedVerifier(ringK1, createMemoryUseOnceStore())
    const s = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    const honest = await a.answer(s.challenges.tpm_devid as Record<string, unknown>, spec)
    expect((await v.answer(s.sessionId, { tpm_devid: honest }, { settle: settleShared })).ok).toBe(true)
    // another replica (no hint of the id) checks the captured answer before the expiry; its commit is
    // held up past expiry + grace, and the first record is purged in the meantime
    const replica = sealedVerifier(ringK1, createMemoryUseOnceStore())
    const settleLate = async (claim: UseOnceClaim) => {
      t = claim.expiresAt + 60_000
      expect(await shared.size()).toBe(0)
      return shared.claim(claim.id, claim.expiresAt)
    }
    const e = await replica.answer(s.sessionId, { tpm_devid: honest }, { settle: settleLate }).then(
      () => undefined,
      (x: { code?: string; message?: string }) => x,
    )
    expect([e?.code, e?.message]).toEqual(['ERR_SESSION_EXPIRED', SESSION_EXPIRED])
    expect(await shared.size()).toBe(0)
  })

  it('two answers racing through settle: exactly one verdict is released', async () => {
    const { settle } = settler()
    const v = sealedVerifier(ringK1, createMemoryUseOnceStore())
    const s = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    const honest = await a.answer(s.challenges.tpm_devid as Record<string, unknown>, spec)
    const results = await Promise.allSettled([
      v.answer(s.sessionId, { tpm_devid: honest }, { settle }),
      v.answer(s.sessionId, { tpm_devid: honest }, { settle }),
    ])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    expect((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason.code).toBe('ERR_SESSION_UNKNOWN')
  })

  it('answers of one session arriving together on one verifier: the checks run once, the others are unknown before any check', async () => {
    const { settle, calls } = settler()
    const v = sealedVerifier(ringK1, createMemoryUseOnceStore())
    const s = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    const honest = await a.answer(s.challenges.tpm_devid as Record<string, unknown>, spec)
    const proof = countedKeyProof()
    const proveKey = proof.proveKey
    // a captured answer replayed in a burst: none is known as used yet (no claim has resolved)
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, () => v.answer(s.sessionId, { tpm_devid: honest }, { settle, proveKey })),
    )
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    for (const r of results.filter((r) => r.status === 'rejected'))
      expect([r.reason.code, r.reason.message]).toEqual(['ERR_SESSION_UNKNOWN', UNKNOWN_SESSION])
    expect(proof.calls).toBe(1)
    expect(calls).toHaveLength(1)
  })

  it('an answer whose settle threw leaves its session to a later answer (the in-flight mark is cleared)', async () => {
    const { settle } = settler()
    const v = sealedVerifier(ringK1, createMemoryUseOnceStore())
    const s = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    const honest = await a.answer(s.challenges.tpm_devid as Record<string, unknown>, spec)
    const down = async () => {
      throw new Error('database unreachable')
    }
    await expect(v.answer(s.sessionId, { tpm_devid: honest }, { settle: down })).rejects.toThrow('database unreachable')
    expect((await v.answer(s.sessionId, { tpm_devid: honest }, { settle })).ok).toBe(true)
  })

  it('a settle that throws fails the answer with its error; with a session store settle is not called', async () => {
    const v = sealedVerifier()
    const s = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    const honest = await a.answer(s.challenges.tpm_devid as Record<string, unknown>, spec)
    const down = async () => {
      throw new Error('database unreachable')
    }
    await expect(v.answer(s.sessionId, { tpm_devid: honest }, { settle: down })).rejects.toThrow('database unreachable')
    const memory = createAttestationVerifier({ policies: POLICIES, sessions: createMemorySessionStore() })
    const m = await memory.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: ev } })
    const answer = await a.answer(m.challenges.tpm_devid as Record<string, unknown>, spec)
    let called = false
    const verdict = await memory.answer(m.sessionId, { tpm_devid: answer }, { settle: async () => (called = true) })
    expect([verdict.ok, called]).toEqual([true, false])
  })
})
