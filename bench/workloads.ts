// The work the benchmark measures, built once from real swtpm evidence (test/vectors/swtpm) with a
// live fixture TPM answering. Each tpm_devid workload is the whole server side of an attestation:
// evidence checks, challenge (MakeCredential), answer checks. The platform's randomness is fixed so
// the challenge is the same every time and the TPM's one answer stays valid; session IDs alone
// still differ, and each session is taken when answered.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseDocument } from 'yaml'
import { createAttestationVerifier } from '../core/attestation/verifier.ts'
import type { PolicySet } from '../core/policy/types.ts'
import { parsePolicyDocument } from '../core/policy/validate.ts'
import { createMemorySessionStore } from '../core/session/store.ts'
import { withPlatform, type Platform } from '../core/platform.ts'
import { FIXTURE_DIR } from '../test/support/swtpm.ts'
import { LiveAgent, evidenceSet, vectorB64 } from '../test/core/attestation/live-agent.ts'

export interface AttestationWorkload {
  name: string
  evidence: Record<string, unknown>
  policies: PolicySet
  /** signatures (x chain verifies) etc. for the floor: filled by floor.ts */
  answers: Record<string, unknown>
  binding: Uint8Array
}

const text = (p: string) => readFileSync(join(FIXTURE_DIR, p), 'utf8')

function policySet(): PolicySet {
  const doc = parseDocument(`
section: AgentAttestation
schema: v1
spec:
  policies:
  - name: bench
    requiredAttestors:
    - type: tpm_devid
      config:
        devIDCACerts: |
${(text('devid-ca/root.pem') + text('devid-ca/intermediate.pem') + text('devid-ca-rsa/root.pem')).replace(/^/gm, '          ')}
        endorsementCACerts: |
${(text('ek-ca/swtpm-localca-rootca-cert.pem') + text('ek-ca/issuercert.pem')).replace(/^/gm, '          ')}
`).toJS()
  return parsePolicyDocument(doc)
}

/** Randomness that repeats: the same nonce, secret and seed every attestation. */
export function fixedRandom(platform: Platform): Platform {
  let n = 0
  return withPlatform(
    {
      crypto: {
        ...platform.crypto,
        randomBytes: (size: number) => {
          // session IDs (24 bytes) must differ; nonces, secrets and seeds repeat
          const out = new Uint8Array(size).fill(0x5a)
          if (size === 24) new DataView(out.buffer).setUint32(0, n++)
          return out
        },
      },
    },
    platform,
  )
}

/** The tpm_devid work items, in the order buildWorkloads builds them. */
export const TPM_DEVID_WORK = [
  'tpm_devid all-RSA (DevID CA chain, DevID, AK, EK RSA-2048)',
  'tpm_devid RSA DevID + AK + EK, P-256 DevID CA',
  'tpm_devid P-256 DevID + P-256 AK, RSA EK',
  'tpm_devid RSA DevID + AK, P-256 EK (ECDH MakeCredential)',
] as const

export async function buildWorkloads(base: Platform): Promise<{ workloads: AttestationWorkload[]; stop(): Promise<void> }> {
  const agent = await LiveAgent.start('tpm-a')
  const policies = policySet()
  const binding = new Uint8Array(32).fill(7)
  const rsa = evidenceSet('tpm-a-devid-rsa')
  const evidence = [
    evidenceSet('tpm-a-devid-rsa-rsa-ca'),
    rsa,
    evidenceSet('tpm-a-devid-p256-ak-ecc'),
    { ...rsa, EKCert: vectorB64('tpm-a/ek-p256.crt.der'), EKPub: vectorB64('tpm-a/ek-p256.tpmt') },
  ]
  const sets = TPM_DEVID_WORK.map((name, i): [string, Record<string, unknown>] => [name, evidence[i]!])
  const workloads: AttestationWorkload[] = []
  try {
    for (const [name, evidence] of sets) {
      const platform = fixedRandom(base)
      const v = createAttestationVerifier({ policies, platform, sessions: createMemorySessionStore({ now: () => platform.now() }) })
      const started = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: evidence } })
      const ch = started.challenges.tpm_devid as Record<string, unknown>
      const ev = evidence as Record<string, string>
      const answer = await agent.answer(ch, { devIdPub: ev.DevIDPub!, akPub: ev.AKPub!, ekPub: ev.EKPub!, binding })
      const verdict = await v.answer(started.sessionId, { tpm_devid: answer }, { binding })
      if (!verdict.ok) throw new Error(`${name}: the precomputed answer does not verify`)
      workloads.push({ name, evidence, policies, answers: { tpm_devid: answer }, binding })
    }
  } catch (e) {
    await agent.stop() // no swtpm daemon left behind when a runtime cannot build the work
    throw e
  }
  return { workloads, stop: () => agent.stop() }
}

/**
 * One full server-side attestation on `platform` (fixed randomness), through one verifier and
 * session store as a server holds them; throws unless it passes.
 */
export function attestOnce(w: AttestationWorkload, base: Platform): () => Promise<void> {
  const platform = fixedRandom(base)
  const v = createAttestationVerifier({
    policies: w.policies,
    platform,
    sessions: createMemorySessionStore({ now: () => platform.now(), capacity: 64 }),
  })
  return async () => {
    const started = await v.start({ providedMethods: ['tpm_devid'], evidence: { tpm_devid: w.evidence } })
    const verdict = await v.answer(started.sessionId, w.answers, { binding: w.binding })
    if (!verdict.ok) throw new Error('attestation failed')
  }
}
